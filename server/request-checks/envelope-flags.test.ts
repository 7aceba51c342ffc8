import assert from "node:assert/strict";
import type http from "node:http";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { EnvelopeHeaderReader, refuseBadEnvelopeFlags } from "./envelope-flags.js";

const envelope = (flags: number, length: number) => {
  const bytes = Buffer.alloc(5 + length, 0x61);
  bytes[0] = flags;
  bytes.writeUInt32BE(length, 1);
  return bytes;
};

describe("EnvelopeHeaderReader", () => {
  it("passes plain and compressed envelopes", () => {
    const reader = new EnvelopeHeaderReader();
    assert.equal(reader.firstBadFlag(Buffer.concat([envelope(0, 3), envelope(1, 0), envelope(0, 300)])), undefined);
  });

  it("finds a bad flag after good envelopes, however the body is cut", () => {
    const body = Buffer.concat([envelope(0, 3), envelope(1, 260), envelope(2, 4)]);
    const badAt = 8 + 265;
    for (let cut = 0; cut <= body.length; cut++) {
      const reader = new EnvelopeHeaderReader();
      const first = reader.firstBadFlag(body.subarray(0, cut));
      const second = reader.firstBadFlag(body.subarray(cut));
      if (cut > badAt) assert.deepEqual(first, { at: badAt, flags: 2 }, `cut at ${cut}`);
      else assert.deepEqual(second, { at: badAt - cut, flags: 2 }, `cut at ${cut}`);
    }
  });

  it("reads the length's four bytes as one big-endian number", () => {
    const reader = new EnvelopeHeaderReader();
    // 0x00000100 = 256 message bytes: a flag byte of 0x80 inside them is data, not a header.
    const body = Buffer.concat([Buffer.from([0, 0, 0, 1, 0]), Buffer.alloc(256, 0x80), Buffer.from([0x80])]);
    assert.deepEqual(reader.firstBadFlag(body), { at: 261, flags: 0x80 });
  });
});

describe("refuseBadEnvelopeFlags", () => {
  const request = (contentType: string, chunks: Buffer[]) =>
    ({
      headers: { "content-type": contentType },
      async *[Symbol.asyncIterator]() {
        yield* chunks;
      },
    }) as unknown as http.IncomingMessage;

  const read = async (req: http.IncomingMessage) => {
    const got: Buffer[] = [];
    try {
      for await (const chunk of req) got.push(chunk as Buffer);
      return { got: Buffer.concat(got), error: undefined };
    } catch (e) {
      return { got: Buffer.concat(got), error: e };
    }
  };

  it("passes a good body unchanged", async () => {
    const body = Buffer.concat([envelope(0, 3), envelope(1, 2)]);
    const { got, error } = await read(refuseBadEnvelopeFlags(request("application/grpc", [body])));
    assert.equal(error, undefined);
    assert.deepEqual(got, body);
  });

  it("gives the bytes before a bad envelope, then internal", async () => {
    const good = envelope(0, 3);
    const { got, error } = await read(
      refuseBadEnvelopeFlags(request("application/connect+proto", [Buffer.concat([good, envelope(2, 2)])])),
    );
    assert.deepEqual(got, good);
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.Internal);
    assert.match(error.rawMessage, /invalid envelope flags 2/);
  });

  it("leaves bodies that are not enveloped alone", async () => {
    const body = Buffer.from([2, 0, 0, 0, 0]);
    const { got, error } = await read(refuseBadEnvelopeFlags(request("application/proto", [body])));
    assert.equal(error, undefined);
    assert.deepEqual(got, body);
  });
});
