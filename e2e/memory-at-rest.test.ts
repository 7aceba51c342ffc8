import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { canTrimMemory } from "../server/memory-at-rest.js";
import { eventually } from "../testkit/eventually.js";
import { sample, scrape } from "./support/prometheus.js";
import { assertStillServing, type ServerProcess, spawnServer } from "./support/server.js";

interface Trim {
  readonly restedMs: number;
  readonly durationMs: number;
  readonly youngBytes: number;
  readonly youngAfterBytes: number;
  readonly heapBytes: number;
  readonly heapAfterBytes: number;
  readonly rssBytes: number;
  readonly rssAfterBytes: number;
}

const mib = 1024 * 1024;

/** The server's trims, as logged: at rest, or with `when` "start" the one before it listens. */
function trimsOf(server: ServerProcess, when: "rest" | "start" = "rest"): Trim[] {
  return server.lines.flatMap((line) => {
    if (!line.includes(`"memory trimmed at ${when}"`)) return [];
    return [JSON.parse(line) as Trim];
  });
}

async function youngGenerationBytes(url: string): Promise<number> {
  return sample(await scrape(url), "nodejs_heap_space_size_total_bytes", { space: "new" }) ?? Number.NaN;
}

/** Calls GetOne from `streams` loops at once for `ms`; how many answered right. */
async function burst(url: string, ms: number, streams = 16): Promise<number> {
  const client = createSimpleTestClient({ baseUrl: url, protocol: "grpc" });
  const end = Date.now() + ms;
  let answered = 0;
  try {
    await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        while (Date.now() < end) {
          const { result } = await client.getOne({ hello: `burst ${i}` });
          assert.equal(result, `Hello !! burst ${i}`);
          answered++;
        }
      }),
    );
  } finally {
    client.close();
  }
  return answered;
}

describe("memory at rest (IDLE_TRIM_MS)", () => {
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it("gives back what start-up grew before it listens, then after IDLE_TRIM_MS at rest what a burst grew, once per rest, not while busy, and serves on", {
    skip: canTrimMemory ? false : "V8 11 (Node 20) has no collection of last resort for JavaScript: the next test",
  }, async () => {
    const restMs = 1_000;
    const server = await spawnServer({ IDLE_TRIM_MS: String(restMs) });
    servers.push(server);

    // Loading and building the app grow the young generation; the start gives it back before the first call.
    const starts = trimsOf(server, "start");
    assert.equal(starts.length, 1, "one trim at start");
    const [start] = starts;
    const at = (text: string) => server.lines.findIndex((line) => line.includes(text));
    assert.ok(at('"memory trimmed at start"') < at('"Server listening at'), "trimmed before it listens");
    assert.ok(start.durationMs > 0 && start.durationMs < 2_000, `took ${start.durationMs} ms`);
    assert.ok(start.youngAfterBytes <= mib, `young generation ${start.youngBytes} → ${start.youngAfterBytes} bytes`);
    assert.ok(start.heapAfterBytes < start.heapBytes, `heap ${start.heapBytes} → ${start.heapAfterBytes} bytes`);
    assert.ok(
      start.rssAfterBytes < start.rssBytes - 8 * mib,
      `RSS ${start.rssBytes / mib} → ${start.rssAfterBytes / mib} MiB`,
    );
    await assertStillServing(server.url);

    // Quiet on, but for a scrape and a call (which grow the heap by far less than 4 MiB): nothing to trim at rest.
    await sleep(restMs * 2.5);
    assert.deepEqual(trimsOf(server), [], "no trim at rest while nothing has grown since the start");
    assert.ok((await youngGenerationBytes(server.url)) <= 2 * mib, "the young generation stays small at rest");

    // Busy for longer than the rest period (and until V8's heap has grown by the 4 MiB a trim waits
    // for): no trim meanwhile.
    const answered = await burst(server.url, restMs * 2.5);
    assert.ok(answered > 100, `${answered} calls in the burst`);
    await eventually(
      async () => {
        await burst(server.url, 300);
        const heap = sample(await scrape(server.url), "nodejs_heap_size_total_bytes") ?? Number.NaN;
        assert.ok(
          heap >= start.heapAfterBytes + 4 * mib,
          `heap ${heap} bytes after the start's trim left ${start.heapAfterBytes}`,
        );
        return true;
      },
      { what: "the burst to grow V8's heap by 4 MiB" },
    );
    assert.deepEqual(trimsOf(server), [], "no trim while busy");
    assert.ok((await youngGenerationBytes(server.url)) > start.youngAfterBytes, "the burst grew the young generation");

    // The rest after the burst gives it back, and calls are answered right after.
    const [atRest] = await eventually(
      () => {
        const trims = trimsOf(server);
        assert.equal(trims.length, 1, "a trim after the burst's rest");
        return trims;
      },
      { timeoutMs: 20_000 },
    );
    assert.ok(atRest.restedMs >= restMs, `rested ${atRest.restedMs} ms`);
    assert.ok(atRest.durationMs > 0 && atRest.durationMs < 2_000, `took ${atRest.durationMs} ms`);
    assert.ok(atRest.youngAfterBytes <= mib, `young generation ${atRest.youngBytes} → ${atRest.youngAfterBytes} bytes`);
    assert.ok(atRest.heapAfterBytes < atRest.heapBytes, `heap ${atRest.heapBytes} → ${atRest.heapAfterBytes} bytes`);
    assert.ok(
      atRest.rssAfterBytes < atRest.rssBytes,
      `RSS ${atRest.rssBytes / mib} → ${atRest.rssAfterBytes / mib} MiB`,
    );
    await assertStillServing(server.url);
    assert.ok((await burst(server.url, 200, 4)) > 0, "served right after the trim");
  });

  it("never trims with IDLE_TRIM_MS=0, nor on Node 20 whatever IDLE_TRIM_MS says", async () => {
    const settings = canTrimMemory ? ["0"] : ["0", "1000"];
    const started = await Promise.all(settings.map((rest) => spawnServer({ IDLE_TRIM_MS: rest })));
    servers.push(...started);
    // Three rests of the shortest IDLE_TRIM_MS there may be.
    await sleep(3_000);
    for (const [i, server] of started.entries()) {
      assert.deepEqual(trimsOf(server, "start"), [], `IDLE_TRIM_MS=${settings[i]}: at start`);
      assert.deepEqual(trimsOf(server), [], `IDLE_TRIM_MS=${settings[i]}: at rest`);
      // Node 20's V8 may shrink an idle heap by itself; Nodes 24 and 26 keep what start-up grew.
      if (canTrimMemory)
        assert.ok((await youngGenerationBytes(server.url)) > 4 * mib, "young generation as start-up left it");
    }
  });
});
