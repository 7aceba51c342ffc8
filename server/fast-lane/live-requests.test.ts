import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { createRequestBodyBudget, type RequestBodyBudget } from "../request-body-budget.js";
import { LiveRequests } from "./live-requests.js";

const envelope = (text: string, flags = 0) => {
  const data = Buffer.from(text);
  const header = Buffer.alloc(5);
  header[0] = flags;
  header.writeUInt32BE(data.length, 1);
  return Buffer.concat([header, data]);
};

/** A live stream over a body we write to; messages "parse" to their text. */
function live(options: { consumed?: Buffer[]; readMaxBytes?: number; budget?: RequestBodyBudget } = {}) {
  const body = new PassThrough();
  body.pause();
  const budget =
    options.budget ??
    createRequestBodyBudget({ perConnectionBytes: 1 << 20, perServerBytes: 1 << 20, timeoutMs: 10_000 });
  let endCall: ((reason: unknown) => void) | undefined;
  const requests = new LiveRequests({
    body,
    consumed: options.consumed ?? [],
    readMaxBytes: options.readMaxBytes ?? 1000,
    parse: (parts) => {
      const text = Buffer.concat(parts).toString();
      if (text === "bad") throw new ConnectError("parse binary: bad", Code.Internal);
      return text;
    },
    meter: budget.meter({}),
    onCallEnd: (listener) => {
      endCall = listener;
    },
  });
  return { body, budget, requests, endCall: (reason: unknown) => endCall?.(reason) };
}

async function readAll(requests: AsyncIterable<unknown>): Promise<{ messages: unknown[]; error?: unknown }> {
  const messages: unknown[] = [];
  try {
    for await (const message of requests) messages.push(message);
  } catch (error) {
    return { messages, error };
  }
  return { messages };
}

describe("LiveRequests", () => {
  it("gives the bytes read before first, then the messages as they come, however the chunks cut them", async () => {
    const whole = Buffer.concat([envelope("b"), envelope("c"), envelope("d")]);
    const { body, requests } = live({ consumed: [envelope("a"), whole.subarray(0, 3)] });
    const reading = readAll(requests);
    for (let at = 3; at < whole.length; at += 2) {
      body.write(whole.subarray(at, at + 2));
      await turn();
    }
    body.end();
    assert.deepEqual(await reading, { messages: ["a", "b", "c", "d"] });
  });

  it("a bad flag: the messages before it, then internal; nothing after", async () => {
    const { body, requests } = live();
    body.end(Buffer.concat([envelope("a"), envelope("b", 0x80), envelope("c")]));
    const { messages, error } = await readAll(requests);
    assert.deepEqual(messages, ["a"]);
    assert.equal((error as ConnectError).code, Code.Internal);
    assert.equal((error as ConnectError).rawMessage, "protocol error: invalid envelope flags 128 in a request");
    assert.deepEqual(await requests.next(), { done: true, value: undefined });
  });

  it("an envelope over the limit: what ended in the same chunk is lost, earlier chunks are not", async () => {
    const { body, requests } = live({ readMaxBytes: 10 });
    body.write(envelope("a"));
    await turn();
    body.end(Buffer.concat([envelope("b"), envelope("x".repeat(11))]));
    const { messages, error } = await readAll(requests);
    assert.deepEqual(messages, ["a"]);
    assert.equal((error as ConnectError).code, Code.ResourceExhausted);
    assert.equal((error as ConnectError).rawMessage, "message size 11 is larger than configured readMaxBytes 10");
  });

  it("a message flagged compressed, one that does not parse, an end inside an envelope: each after the good ones", async () => {
    for (const [bad, code] of [
      [envelope("z", 1), Code.Internal],
      [envelope("bad"), Code.Internal],
      [envelope("cut").subarray(0, 6), Code.InvalidArgument],
    ] as const) {
      const { body, requests } = live();
      body.end(Buffer.concat([envelope("a"), bad]));
      const { messages, error } = await readAll(requests);
      assert.deepEqual(messages, ["a"]);
      assert.equal((error as ConnectError).code, code);
    }
  });

  it("the call's end fails a read that waits, with its reason", async () => {
    const { body, requests, endCall } = live();
    body.write(envelope("a"));
    assert.deepEqual(await requests.next(), { done: false, value: "a" });
    const waiting = requests.next();
    const reason = new ConnectError("the operation timed out", Code.DeadlineExceeded);
    endCall(reason);
    await assert.rejects(waiting, reason);
  });

  it("a handler that does not read: the body is paused past 64 KiB unread, and flows again as it reads", async () => {
    const { body, budget, requests } = live({ readMaxBytes: 70_000 });
    const big = envelope("x".repeat(40_000));
    body.write(big);
    body.write(big);
    await turn();
    assert.equal(body.isPaused(), true, "paused with 80 kB unread");
    assert.equal(budget.held(), 2 * big.length, "the unread bytes count on the budget");
    await requests.next();
    assert.equal(body.isPaused(), false);
    assert.equal(budget.held(), big.length);
    await requests.return();
    assert.equal(budget.held(), 0, "let go when the stream is");
  });

  it("past the budget's room a stream's body waits, and reads on once another lets bytes go", async () => {
    const budget = createRequestBodyBudget({ perConnectionBytes: 100, perServerBytes: 100, timeoutMs: 10_000 });
    const first = live({ budget });
    const second = live({ budget });
    first.body.write(envelope("y".repeat(200)));
    await turn();
    second.body.write(envelope("z"));
    await turn();
    assert.equal(second.body.isPaused(), true, "the server holds 205 bytes of a limit of 100");
    assert.deepEqual(await first.requests.next(), { done: false, value: "y".repeat(200) });
    await turn();
    assert.equal(second.body.isPaused(), false);
    second.body.end();
    assert.deepEqual(await readAll(second.requests), { messages: ["z"] });
  });
});
