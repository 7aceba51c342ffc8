import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyPreface, http2Preface } from "./http2-preface.js";

describe("classifyPreface", () => {
  it("recognises the full HTTP/2 preface, with or without frames after it", () => {
    assert.equal(classifyPreface(http2Preface), "http2");
    assert.equal(classifyPreface(Buffer.concat([http2Preface, Buffer.from([0, 0, 0, 4])])), "http2");
  });

  it("waits while the bytes so far are a proper prefix of the preface", () => {
    for (let n = 1; n < http2Preface.length; n++) {
      assert.equal(classifyPreface(http2Preface.subarray(0, n)), "undecided", `after ${n} bytes`);
    }
  });

  it("treats anything else as HTTP/1.1", () => {
    assert.equal(classifyPreface(Buffer.from("GET / HTTP/1.1\r\n")), "http1");
    assert.equal(classifyPreface(Buffer.from("POST /simpletest.SimpleTest/GetOne HTTP/1.1\r\n")), "http1");
    assert.equal(classifyPreface(Buffer.from("PRI * HTTP/1.1\r\n")), "http1");
    assert.equal(classifyPreface(Buffer.from([0x16, 0x03, 0x01])), "http1");
  });
});
