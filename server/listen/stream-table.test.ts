import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { StreamTable, sessionState, useStreamTable } from "./stream-table.js";

/** A generator of the same pseudo-random numbers on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("StreamTable", () => {
  it("answers get, size and delete as a Map would, through growth and deletions in any order", () => {
    const random = seeded(7);
    const table = new StreamTable<string>();
    const map = new Map<number, string>();
    let nextId = 1;
    for (let step = 0; step < 20_000; step++) {
      // Up to ~300 open at once, so the table grows several times, and ids far apart after a while.
      if (map.size === 0 || (random() < 0.52 && map.size < 300)) {
        table.set(nextId, `stream ${nextId}`);
        map.set(nextId, `stream ${nextId}`);
        nextId += 2;
      } else {
        const open = [...map.keys()];
        const id = open[Math.floor(random() * open.length)];
        assert.equal(table.delete(id), true);
        map.delete(id);
        assert.equal(table.delete(id), false);
      }
      const probe = 1 + 2 * Math.floor(random() * (nextId / 2 + 4));
      assert.equal(table.get(probe), map.get(probe), `get(${probe}) at step ${step}`);
      assert.equal(table.size, map.size);
    }
    const seen = new Map<number, string>();
    table.forEach((value, id) => {
      seen.set(id, value);
    });
    assert.deepEqual(new Map([...seen].sort((a, b) => a[0] - b[0])), new Map([...map].sort((a, b) => a[0] - b[0])));
    table.set(1, "replaced");
    assert.equal(table.get(1), "replaced");
  });

  it("visits, in forEach, each entry there at its start unless deleted before its turn, as node:http2's destroy-all needs", () => {
    const table = new StreamTable<number>();
    for (let id = 1; id <= 99; id += 2) table.set(id, id);
    const visited: number[] = [];
    table.forEach((_value, id, self) => {
      visited.push(id);
      self.delete(id);
      // A destroy may end another stream too; that one is not visited after.
      if (id === 11) self.delete(51);
      if (id === 13) self.set(1001, 1001);
    });
    const expected = Array.from({ length: 50 }, (_, i) => 1 + 2 * i).filter((id) => id !== 51);
    assert.deepEqual(
      visited.sort((a, b) => a - b),
      expected,
    );
    assert.equal(table.size, 1);
    assert.equal(table.get(1001), 1001);
  });

  it("takes stream ids only: whole numbers from 1", () => {
    const table = new StreamTable<string>();
    for (const id of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      assert.throws(() => table.set(id, "x"), {
        name: "TypeError",
        message: /^a stream id is a whole number from 1, not /,
      });
    }
    assert.equal(table.size, 0);
  });

  const churn = async (mode: "table" | "released") => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      "--expose-gc",
      "--import",
      "tsx",
      "server/listen/stream-churn.fixture.ts",
      mode,
    ]);
    return Number(stdout);
  };

  it("keeps nothing of a stream it deleted: a full collection finds none of 100 alive, the table kept", async () => {
    assert.equal(await churn("released"), 0);
  });

  it("lets the scavenger free the streams it let go of, though it lives in the old generation", async () => {
    // A Map in its place promotes 4–6 MB of them (server/internals.test.ts).
    const promoted = await churn("table");
    assert.ok(promoted < 1_000_000, `the table's streams promoted ${promoted} bytes`);
  });
});

describe("useStreamTable", () => {
  it("has node:http2 keep a session's streams in the table: 40 served at once, and a destroy with 16 open ends each", async () => {
    const server = http2.createServer();
    const took: boolean[] = [];
    server.on("session", (session) => took.push(useStreamTable(session)));
    const held: http2.ServerHttp2Stream[] = [];
    server.on("stream", (stream, headers) => {
      if (headers[":path"] === "/hold") {
        held.push(stream);
        return;
      }
      stream.respond({ ":status": 200 });
      stream.end(headers[":path"]);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const request = client.request({ ":path": `/call/${i}` });
          request.setEncoding("utf8");
          let body = "";
          request.on("data", (chunk: string) => {
            body += chunk;
          });
          return once(request, "end").then(() => body);
        }),
      );
      assert.deepEqual(
        answers,
        Array.from({ length: 40 }, (_, i) => `/call/${i}`),
      );
      const holding = Array.from({ length: 16 }, () => client.request({ ":path": "/hold" }));
      for (const request of holding) request.on("error", () => {});
      while (held.length < 16) await new Promise((resolve) => setTimeout(resolve, 5));
      const session = held[0].session as http2.ServerHttp2Session;
      const state = sessionState(session) as { streams: StreamTable<http2.ServerHttp2Stream> };
      assert.ok(state.streams instanceof StreamTable);
      assert.equal(state.streams.size, 16);
      assert.ok(held.every((stream) => state.streams.get(stream.id as number) === stream));
      const closed = held.map((stream) => once(stream, "close"));
      session.destroy();
      await Promise.all(closed);
      assert.ok(held.every((stream) => stream.destroyed));
      assert.deepEqual(took, [true]);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it("leaves alone a session that is not as Nodes 20 to 26 make it", () => {
    const state = Symbol("state");
    assert.equal(useStreamTable({}), false);
    assert.equal(useStreamTable({ [state]: { streams: new Map([[1, {}]]) } }), false);
    assert.equal(useStreamTable({ [state]: { streams: {} } }), false);
    assert.equal(useStreamTable({ [state]: { streams: new Map() }, [Symbol("state")]: {} }), false);
    const session = { [state]: { streams: new Map() } };
    assert.equal(useStreamTable(session), true);
    assert.ok(session[state].streams instanceof StreamTable);
  });
});
