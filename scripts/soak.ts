/**
 * Drives mixed traffic at a server of its own for a fixed time and reports
 * calls, errors and the server's memory: `npm run soak -- --seconds 60`.
 * Every method over every protocol, codec and HTTP version, from several
 * clients at once. Exits 1 if any call failed or if the server's RSS grew by
 * 10% or more between the end of the warm-up (the first fifth) and the end.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createAsyncIterable, createWritableIterable } from "@connectrpc/connect/protocol";
import { createSimpleTestClient, type SimpleTestClient } from "../client/simple-test-client.js";
import { describeTransport, type Transport, transports } from "../e2e/support/matrix.js";
import { spawnServer } from "../testkit/server-process.js";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "60" } } });
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write("usage: npm run soak -- [--seconds N]\n");
  process.exit(2);
}
const workersPerTransport = 1;
const warmUpMs = (seconds * 1000) / 5;

const rssOf = (pid: number) =>
  Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** One round of every method the transport can do; throws on any wrong answer. */
async function round(client: SimpleTestClient, transport: Transport, n: number): Promise<number> {
  const name = `soak${n}`;
  if ((await client.getOne({ hello: name })).result !== `Hello !! ${name}`) throw new Error("GetOne: wrong answer");
  let listed = 0;
  for await (const _ of client.getList({ hello: name })) listed++;
  if (listed !== 5) throw new Error(`GetList: ${listed} messages`);
  const names = Array.from({ length: 5 }, (_, i) => ({ namelist: `${name}-${i}` }));
  if ((await client.postList(createAsyncIterable(names))).result !== "PostList OK")
    throw new Error("PostList: wrong answer");
  if (transport.httpVersion === "1.1") return 3;
  const requests = createWritableIterable<{ namelist: string }>();
  const answers = client.postAndPost(requests)[Symbol.asyncIterator]();
  for (const request of names) {
    await requests.write(request);
    const answer = await answers.next();
    if (answer.value?.resultlist !== `Hello !! ${request.namelist}`) throw new Error("PostAndPost: wrong answer");
  }
  requests.close();
  if (!(await answers.next()).done) throw new Error("PostAndPost: did not end");
  return 4;
}

// At info, as deployed: one log line per call is part of the load.
const server = await spawnServer();
const pid = server.child.pid;
if (pid === undefined) throw new Error("the server has no pid");
const rssStart = rssOf(pid);
let calls = 0;
let errors = 0;
const firstErrors: string[] = [];
const started = performance.now();
const deadline = started + seconds * 1000;
let rssWarm: number | undefined;
const warmTimer = setTimeout(() => {
  rssWarm = rssOf(pid);
}, warmUpMs);

const workers = transports.flatMap((transport) =>
  Array.from({ length: workersPerTransport }, async () => {
    const client = createSimpleTestClient({ baseUrl: server.url, ...transport });
    try {
      for (let n = 0; performance.now() < deadline; n++) {
        try {
          calls += await round(client, transport, n);
        } catch (e) {
          errors++;
          if (firstErrors.length < 5) firstErrors.push(`${describeTransport(transport)}: ${String(e)}`);
        }
      }
    } finally {
      client.close();
    }
  }),
);
await Promise.all(workers);
clearTimeout(warmTimer);
const rssEnd = rssOf(pid);
await server.close();

const warm = rssWarm ?? rssStart;
const growth = (rssEnd - warm) / warm;
const elapsed = (performance.now() - started) / 1000;
process.stdout.write(
  [
    `soak: ${elapsed.toFixed(0)} s, ${transports.length} transports × ${workersPerTransport} clients`,
    `calls: ${calls} (${(calls / elapsed).toFixed(0)}/s)`,
    `errors: ${errors}`,
    `server RSS: start ${mib(rssStart)}, after warm-up ${mib(warm)}, end ${mib(rssEnd)} (${(growth * 100).toFixed(1)}% after warm-up)`,
    ...firstErrors.map((e) => `  ${e}`),
    "",
  ].join("\n"),
);
if (errors > 0 || growth >= 0.1) process.exit(1);
