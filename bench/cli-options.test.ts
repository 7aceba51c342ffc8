import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { headersOf } from "./cli-options.js";

describe("headersOf", () => {
  it("reads NAME: VALUE as HTTP/2 sends it: the name lower-cased, the value trimmed and free to hold colons", () => {
    assert.deepEqual(headersOf(["X-Extra-1: value-1", "x-at:12:30 ", "grpc-timeout:  5S"]), {
      "x-extra-1": "value-1",
      "x-at": "12:30",
      "grpc-timeout": "5S",
    });
    assert.deepEqual(headersOf([]), {});
  });

  it("refuses, in bench:profile, a header without a name and one the load's driver cannot send", async () => {
    const profile = (...args: string[]) =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "bench/profile.ts", ...args]).then(
        () => assert.fail("bench:profile took it"),
        (error: { code: number; stderr: string }) => error,
      );
    for (const bad of ["x-extra", ": value", "bad name: value"]) {
      const { code, stderr } = await profile("--header", bad);
      assert.equal(code, 2);
      assert.match(stderr, /^--header takes "NAME: VALUE" with a header's name, not /);
    }
    const { code, stderr } = await profile("--workload", "grpc-bidi", "--header", "x-extra: 1");
    assert.equal(code, 2);
    assert.equal(stderr, "--header needs an h2load workload; grpc-bidi runs its own driver\n");
  });
});
