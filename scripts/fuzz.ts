/**
 * A longer fuzz than the test suite's: `npm run fuzz -- --runs 20000 --seed 7`.
 * Starts the server as its own process, sends arbitrary requests to every
 * method × protocol × codec, checks each answer, and checks after every
 * thousand that a good call still answers. Prints the codes seen; exits 1 on
 * the first bad answer, with the seed and the request that caused it.
 */
import http2 from "node:http2";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { checkAnswer, describeRequest, fuzzRequest } from "../e2e/support/fuzz-requests.js";
import { spawnServer } from "../testkit/server-process.js";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "5000" }, seed: { type: "string" } },
});
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  process.stderr.write("usage: npm run fuzz -- [--runs N] [--seed S]\n");
  process.exit(2);
}

const batch = 1_000;
const server = await spawnServer();
const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
const codes = new Map<string, number>();
let failure: string | undefined;
const started = performance.now();
try {
  for (let done = 0; done < runs && failure === undefined; done += batch) {
    const session = http2.connect(server.url);
    const details = await fc.check(
      fc.asyncProperty(fuzzRequest, async (request) => {
        const outcome = await checkAnswer(session, request);
        codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
      }),
      { seed: seed + done, numRuns: Math.min(batch, runs - done) },
    );
    session.close();
    if (details.failed) {
      const example = details.counterexample?.[0];
      failure = `${fc.defaultReportMessage(details)}\nrequest: ${example ? describeRequest(example) : "?"}`;
    } else if ((await client.getOne({ hello: "x" })).result !== "Hello !! x") {
      failure = "a good call got a wrong answer";
    }
  }
} catch (e) {
  failure = `a good call failed after the fuzz: ${String(e)}`;
} finally {
  client.close();
  await server.close();
}

const seconds = (performance.now() - started) / 1000;
const total = [...codes.values()].reduce((a, b) => a + b, 0);
process.stdout.write(`seed ${seed}: ${total} requests in ${seconds.toFixed(1)} s\n`);
for (const [code, count] of [...codes].sort((a, b) => b[1] - a[1])) {
  process.stdout.write(`  ${code.padEnd(20)} ${count}\n`);
}
if (failure !== undefined) {
  process.stderr.write(`FAILED (seed ${seed}): ${failure}\n`);
  process.exit(1);
}
