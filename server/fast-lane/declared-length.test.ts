import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { declaresTooLong, envelopeRefused } from "./declared-length.js";

describe("declaresTooLong", () => {
  it("is true only for a Content-Length over the limit", () => {
    assert.equal(declaresTooLong({ "content-length": "101" }, 100), true);
    assert.equal(declaresTooLong({ "content-length": "100" }, 100), false);
    assert.equal(declaresTooLong({}, 100), false);
  });
});

describe("envelopeRefused", () => {
  const head = (flags: number, length: number) => {
    const bytes = Buffer.alloc(5);
    bytes[0] = flags;
    bytes.writeUInt32BE(length, 1);
    return bytes;
  };

  it("waits for the whole header", () => {
    assert.equal(envelopeRefused([Buffer.from([0, 0xff, 0xff])], 3, 100), false);
  });
  it("refuses a length over the limit as soon as the header is in, however it was cut", () => {
    const lie = head(0, 0xffffffff);
    assert.equal(envelopeRefused([lie], 5, 100), true);
    assert.equal(envelopeRefused([lie.subarray(0, 2), lie.subarray(2)], 5, 100), true);
  });
  it("takes a plain envelope within the limit", () => {
    assert.equal(envelopeRefused([head(0, 100)], 5, 100), false);
  });
  it("leaves any flag to connect-es", () => {
    assert.equal(envelopeRefused([head(1, 10)], 5, 100), true);
    assert.equal(envelopeRefused([head(2, 10)], 5, 100), true);
  });
});
