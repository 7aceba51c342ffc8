import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { checkAnswer, describeRequest, fuzzRequest } from "./support/fuzz-requests.js";
import { assertStillServing, type RunningServer, startServer } from "./support/server.js";

/** Fixed, so a failure here fails the same way on every machine; `npm run fuzz` tries others. */
const seed = 20_260_505;
const batches = 4;
const runsPerBatch = 100;

for (const fastPath of ["on", "off"]) {
  describe(`fuzz: arbitrary requests to every method, protocol and codec get a readable answer (FAST_PATH=${fastPath})`, () => {
    let server: RunningServer;
    let session: http2.ClientHttp2Session;
    before(async () => {
      server = await startServer({ FAST_PATH: fastPath });
      session = http2.connect(server.url);
    });
    after(async () => {
      session?.close();
      await server?.close();
    });

    for (let batch = 0; batch < batches; batch++) {
      it(`batch ${batch + 1} of ${batches}: ${runsPerBatch} requests, then a good call still answers`, async () => {
        const codes = new Map<string, number>();
        await fc.assert(
          fc.asyncProperty(fuzzRequest, async (request) => {
            const outcome = await checkAnswer(session, request);
            codes.set(outcome.code, (codes.get(outcome.code) ?? 0) + 1);
          }),
          { seed: seed + batch, numRuns: runsPerBatch, reporter: reportWith(describeRequest) },
        );
        // The arbitraries reach past the first check: errors of several kinds, and answers.
        assert.ok(codes.has("invalid_argument"), JSON.stringify([...codes]));
        assert.ok(codes.size >= 3, JSON.stringify([...codes]));

        await assertStillServing(server.url);
      });
    }
  });
}

/** fast-check's default report, with the failing request spelled out. */
function reportWith<T>(describe: (value: T) => string): (details: fc.RunDetails<[T]>) => void {
  return (details) => {
    if (!details.failed) return;
    const example = details.counterexample?.[0];
    throw new Error(
      `${fc.defaultReportMessage(details)}\n${example === undefined ? "" : `request: ${describe(example)}`}`,
    );
  };
}
