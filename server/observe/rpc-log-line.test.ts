import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fastify } from "fastify";
import { type LoggerOptions, pino } from "pino";
import { logRpc, type RpcLine } from "./rpc-log-line.js";

const line: RpcLine = {
  procedure: "/simpletest.SimpleTest/GetOne",
  protocol: "grpc",
  httpVersion: "2.0",
  code: "ok",
  durationMs: 0.3,
  peer: "127.0.0.1:50123",
};

/** A pino logger writing into an array, with a fixed time so that two lines can be compared. */
function capture(options: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = pino({ timestamp: () => ',"time":1', ...options }, { write: (s: string) => lines.push(s) });
  return { log, lines };
}

/** What pino itself writes for the line, and what logRpc writes. */
function both(log: pino.Logger, lines: string[], level: "info" | "error", fields: RpcLine) {
  log[level](fields, "rpc");
  logRpc(log, level, fields);
  return lines.splice(0);
}

describe("logRpc", () => {
  it("writes the bytes pino writes, at info and at error", () => {
    const { log, lines } = capture();
    for (const level of ["info", "error"] as const) {
      const [theirs, ours] = both(log, lines, level, line);
      assert.equal(ours, theirs);
      assert.equal(JSON.parse(ours).code, "ok");
    }
  });

  it("keeps a child logger's bindings, as Fastify's request logger has them", () => {
    const { log, lines } = capture();
    const [theirs, ours] = both(log.child({ reqId: "req-1" }), lines, "info", line);
    assert.equal(ours, theirs);
    assert.equal(JSON.parse(ours).reqId, "req-1");
  });

  it("leaves out the fields a call does not have, as pino does", () => {
    const { log, lines } = capture();
    const [theirs, ours] = both(log, lines, "info", { ...line, httpVersion: undefined, peer: undefined });
    assert.equal(ours, theirs);
    assert.ok(!ours.includes("peer"));
  });

  it("writes each kind of call's fields as pino does, the first time and again, past the kinds it remembers too", () => {
    const { log, lines } = capture();
    const codes = ["ok", "invalid_argument", "deadline_exceeded", "internal", "unavailable"];
    const kinds: RpcLine[] = [];
    // A procedure of its own with 45 kinds, first, so that it has a place in the table whatever ran before:
    // each kind differs from another in one field alone. Then 300 procedures: more than logRpc keeps the JSON of.
    for (const protocol of ["grpc", "grpc_web", "connect"]) {
      for (const httpVersion of ["2.0", "1.1", undefined]) {
        for (const code of codes) kinds.push({ ...line, procedure: "/p.S/Kinds", protocol, httpVersion, code });
      }
    }
    for (let p = 0; p < 300; p++) kinds.push({ ...line, procedure: `/p.S/M${p}` });
    for (const round of [1, 2]) {
      for (const [i, kind] of kinds.entries()) {
        // A call's own fields differ from call to call of one kind: none of them may be kept with the kind's.
        const fields = { ...kind, durationMs: round * 1000 + i / 10, peer: `127.0.0.1:${round * 1000 + i}` };
        const [theirs, ours] = both(log, lines, "info", fields);
        assert.equal(ours, theirs, `round ${round}: ${JSON.stringify(fields)}`);
      }
    }
  });

  it("quotes string fields byte for byte as pino does, escaping what JSON must escape", () => {
    const { log, lines } = capture();
    const peers = ['a"b', "a\\b", "tab\there", "\u0001", "\u001f", "fe80::1%eth0", "é", "\u{1f600}", "~\u007f"];
    for (const peer of peers) {
      const [theirs, ours] = both(log, lines, "info", { ...line, peer });
      assert.equal(ours, theirs, JSON.stringify(peer));
      assert.equal(JSON.parse(ours).peer, peer);
    }
  });

  it("escapes a lone surrogate, as pino does from Node 25 on, so that the line's bytes keep it", () => {
    const { log, lines } = capture();
    const [theirs, ours] = both(log, lines, "info", { ...line, peer: "a\ud800b" });
    assert.ok(ours.includes('"peer":"a\\ud800b"'), ours);
    assert.equal(JSON.parse(Buffer.from(ours).toString()).peer, "a\ud800b");
    // Before Node 25 pino writes it raw, the one difference logRpc's doc names.
    if (Number(process.versions.node.split(".")[0]) >= 25) assert.equal(ours, theirs);
    else assert.notEqual(ours, theirs);
  });

  it("writes nothing below the logger's level", () => {
    const { log, lines } = capture({ level: "warn" });
    logRpc(log, "info", line);
    assert.deepEqual(lines, []);
    logRpc(log, "error", line);
    assert.equal(lines.length, 1);
  });

  it("leaves the line to pino when a setting would change it: redaction, a formatter, a serializer", () => {
    const plain = capture();
    const [plainLine] = both(plain.log, plain.lines, "info", line);
    for (const options of [
      { redact: ["peer"] },
      { formatters: { log: (o: object) => ({ ...o, extra: 1 }) } },
      { serializers: { code: (c: string) => c.toUpperCase() } },
      { mixin: () => ({ mixed: true }) },
    ] satisfies LoggerOptions[]) {
      const { log, lines } = capture(options);
      const [theirs, ours] = both(log, lines, "info", line);
      assert.equal(ours, theirs, Object.keys(options)[0]);
      assert.notEqual(ours, plainLine, `${Object.keys(options)[0]} changes the line`);
    }
  });

  it("judges each request logger by its own settings, plain or not, whichever was judged before", () => {
    const plain = capture();
    const formatted = capture({ formatters: { log: (o: object) => ({ ...o, extra: 1 }) } });
    // Children made with options, as Fastify makes its request loggers: pino builds their formatters anew.
    const children = [
      plain.log.child({ reqId: "req-1" }, {}),
      formatted.log.child({ reqId: "req-2" }, {}),
      plain.log.child({ reqId: "req-3" }, {}),
      plain.log.child({ reqId: "req-4" }, { formatters: { log: (o: object) => ({ ...o, child: 1 }) } }),
      plain.log.child({ reqId: "req-5" }, {}),
    ];
    for (const child of children) {
      const lines = child === children[1] ? formatted.lines : plain.lines;
      const [theirs, ours] = both(child, lines, "info", line);
      assert.equal(ours, theirs);
    }
  });

  it("writes as Fastify's own logger does", async () => {
    const lines: string[] = [];
    const app = fastify({ logger: { level: "info", stream: { write: (s: string) => lines.push(s) } } });
    await app.ready();
    app.log.info(line, "rpc");
    logRpc(app.log, "info", line);
    const [theirs, ours] = lines.map((l) => JSON.parse(l));
    assert.equal(typeof ours.time, "number");
    assert.deepEqual({ ...ours, time: 0 }, { ...theirs, time: 0 });
    await app.close();
  });

  it("builds the line itself for a plain pino logger, without pino's general path", () => {
    const { log, lines } = capture();
    log.info = () => assert.fail("pino's info was called");
    logRpc(log, "info", line);
    assert.equal(JSON.parse(lines[0]).procedure, line.procedure);
  });

  it("calls any other logger's method", () => {
    const calls: unknown[][] = [];
    logRpc({ info: (...args) => calls.push(["info", ...args]), error: () => {} }, "info", line);
    assert.deepEqual(calls, [["info", line, "rpc"]]);
  });
});
