import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type RunningServer, startServer } from "./support/server.js";

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "client/cli.ts", ...args],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** The output the README shows for `npm run client -- all`. */
function readmeAllOutput(): string {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const match = /```sh\nnpm run client -- all\n```\s*```text\n([^`]*)```/.exec(readme);
  assert.ok(match, "README shows the output of npm run client -- all");
  return match[1];
}

describe("the CLI", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  for (const protocol of ["connect", "grpc", "grpc-web"]) {
    it(`calls all four methods over ${protocol} and prints what the README shows`, async () => {
      const result = await cli("all", "--url", server.url, "--protocol", protocol);
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      assert.equal(result.stdout, readmeAllOutput());
    });
  }

  it("passes --hello and --name, and speaks JSON over HTTP/1.1 when asked", async () => {
    const one = await cli("GetOne", "--url", server.url, "--hello", "you", "--http", "1.1", "--json", "--get");
    assert.equal(one.stdout, 'GetOne {"result":"Hello !! you"}\n');
    const bidi = await cli("PostAndPost", "--url", server.url, "--protocol", "grpc", "--name", "x", "--name", "y");
    assert.equal(bidi.stdout, 'PostAndPost {"resultlist":"Hello !! x"}\nPostAndPost {"resultlist":"Hello !! y"}\n');
  });

  it("exits with the gRPC code's number and names the code when a call fails", async () => {
    const closed = await startServer();
    const url = closed.url;
    await closed.close();
    const down = await cli("GetOne", "--url", url);
    assert.equal(down.code, 14);
    assert.match(down.stderr, /^error: unavailable \(14\): /);

    const bidiOverHttp1 = await cli("PostAndPost", "--url", server.url, "--http", "1.1");
    assert.equal(bidiOverHttp1.code, 12);
    assert.match(bidiOverHttp1.stderr, /unimplemented \(12\): .*needs HTTP\/2/);
  });

  it("explains itself with --help, and refuses bad usage with exit code 64", async () => {
    const help = await cli("--help");
    assert.equal(help.code, 0);
    for (const word of ["GetOne", "GetList", "PostList", "PostAndPost", "--protocol", "--http", "--json"]) {
      assert.ok(help.stdout.includes(word), `--help mentions ${word}`);
    }
    const bad = await cli("GetOne", "--protocol", "carrier-pigeon");
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--protocol must be one of connect, grpc, grpc-web/);
    assert.equal((await cli("Nope")).code, 64);
    assert.equal((await cli("GetOne", "--protocol", "grpc", "--http", "1.1")).code, 64);
  });
});
