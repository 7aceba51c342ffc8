import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { logDroppedConnections } from "./dropped-connections.js";

describe("logDroppedConnections", () => {
  const setUp = () => {
    const server = new EventEmitter();
    const lines: { dropped: number; maxConnections: number }[] = [];
    logDroppedConnections(
      server,
      { warn: (fields) => lines.push(fields as (typeof lines)[number]) },
      { maxConnections: 5, everyMs: 100 },
    );
    return { server, lines };
  };

  it("logs the first dropped connection at once", () => {
    const { server, lines } = setUp();
    server.emit("drop");
    assert.deepEqual(lines, [{ dropped: 1, maxConnections: 5 }]);
  });

  it("then one line per interval with the count since the last, and none once drops stop", async () => {
    const { server, lines } = setUp();
    for (let i = 0; i < 1_000; i++) server.emit("drop");
    assert.equal(lines.length, 1);
    await sleep(150);
    assert.deepEqual(lines, [
      { dropped: 1, maxConnections: 5 },
      { dropped: 999, maxConnections: 5 },
    ]);
    await sleep(250);
    assert.equal(lines.length, 2);
    server.emit("drop");
    assert.deepEqual(lines.at(-1), { dropped: 1, maxConnections: 5 });
  });
});
