import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { createSimpleTestClient, type SimpleTestClient } from "../client/simple-test-client.js";
import { assertPingPong } from "./support/contract.js";
import { type PythonStubs, runPythonScript } from "./support/grpc-proto-python.js";
import { type CommandResult, runCommand } from "./support/run-command.js";
import { type RunningServer, startServer } from "./support/server.js";

/** Debian's python3-grpcio runs with Debian's python, not whichever python3 is first on PATH. */
const python = "/usr/bin/python3";
const protoDir = fileURLToPath(new URL("../proto/", import.meta.url));
const serverScript = fileURLToPath(new URL("python/simple_test_server.py", import.meta.url));
const callOptions = { timeoutMs: 10_000 };

interface Printed {
  readonly method: string;
  readonly [field: string]: string;
}

const parseLines = (stdout: string): Printed[] =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));

let stubs: PythonStubs;
before(async () => {
  const grpcio = await runCommand(python, ["-c", "import grpc"]);
  if (grpcio.code !== 0) {
    throw new Error(`${python} cannot import grpc; install Debian's python3-grpcio:\n${grpcio.stderr}`);
  }
  stubs = await makeSimpleTestStubs();
});
after(() => stubs?.remove());

describe("Python grpcio client → our server", () => {
  let server: RunningServer;
  let printed: Printed[];
  let run: CommandResult;
  before(async () => {
    server = await startServer();
    run = await runPythonScript("simple_test_client.py", [`127.0.0.1:${server.port}`], stubs);
    printed = parseLines(run.stdout);
  });
  after(() => server?.close());

  const answers = (method: string) => printed.filter((line) => line.method === method);

  it("every call succeeds", () => {
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
  });

  it("GetOne answers Hello !! + hello", () => {
    assert.deepEqual(answers("GetOne"), [
      { method: "GetOne", result: "Hello !! world" },
      { method: "GetOne", result: "Hello !! " },
      { method: "GetOne", result: "Hello !! héllo ✓ 世界" },
    ]);
  });

  it("GetList streams test0..test4 in order", () => {
    assert.deepEqual(
      answers("GetList").map((line) => line.resultlist),
      ["test0", "test1", "test2", "test3", "test4"],
    );
  });

  it("PostList answers PostList OK, for names and for an empty stream", () => {
    assert.deepEqual(answers("PostList"), [
      { method: "PostList", result: "PostList OK" },
      { method: "PostList", result: "PostList OK" },
    ]);
  });

  it("PostAndPost answers each name before the client sends the next (ping-pong)", () => {
    assert.deepEqual(
      answers("PostAndPost").map((line) => line.resultlist),
      ["Hello !! alice", "Hello !! bob", "Hello !! carol", "Hello !! "],
    );
  });

  it("an unknown method gets UNIMPLEMENTED", async () => {
    const path = "/simpletest.SimpleTest/NoSuchMethod";
    const unknown = await runPythonScript(
      "simple_test_client.py",
      [`127.0.0.1:${server.port}`, "--unknown", path],
      stubs,
    );
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.deepEqual(
      parseLines(unknown.stdout).map(({ method, code }) => ({ method, code })),
      [{ method: path, code: "UNIMPLEMENTED" }],
      unknown.stdout,
    );
  });
});

describe("our Node client (gRPC, binary, HTTP/2) → Python grpcio server", () => {
  let server: PythonServer;
  let client: SimpleTestClient;
  before(async () => {
    server = await spawnPythonServer(stubs);
    client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc", httpVersion: "2" });
  });
  after(async () => {
    client?.close();
    await server?.close();
  });

  it("GetOne answers Hello !! + hello", async () => {
    assert.equal((await client.getOne({ hello: "world" }, callOptions)).result, "Hello !! world");
    assert.equal((await client.getOne({ hello: "" }, callOptions)).result, "Hello !! ");
    assert.equal((await client.getOne({ hello: "héllo ✓ 世界" }, callOptions)).result, "Hello !! héllo ✓ 世界");
  });

  it("GetList streams test0..test4 in order", async () => {
    const texts: string[] = [];
    for await (const message of client.getList({ hello: "x" }, callOptions)) texts.push(message.resultlist);
    assert.deepEqual(texts, ["test0", "test1", "test2", "test3", "test4"]);
  });

  it("PostList answers PostList OK, for names and for an empty stream", async () => {
    const names = Array.from({ length: 50 }, (_, i) => ({ namelist: `n${i}` }));
    assert.equal((await client.postList(createAsyncIterable(names), callOptions)).result, "PostList OK");
    assert.equal((await client.postList(createAsyncIterable([]), callOptions)).result, "PostList OK");
  });

  it("PostAndPost answers each request before the next is sent (ping-pong)", () => assertPingPong(client, callOptions));

  it("an unknown method gets UNIMPLEMENTED from Python grpcio (the reference for our server)", async () => {
    const path = "/simpletest.SimpleTest/NoSuchMethod";
    const unknown = await runPythonScript(
      "simple_test_client.py",
      [new URL(server.url).host, "--unknown", path],
      stubs,
    );
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.deepEqual(parseLines(unknown.stdout), [
      { method: path, code: "UNIMPLEMENTED", details: "Method not found!" },
    ]);
  });

  it("the Python server exits 0 on SIGTERM", async () => {
    client.close();
    assert.equal(await server.close(), 0);
  });
});

/** Stubs of proto/simpletest, made with Debian's protoc and grpc_python_plugin (never committed). */
async function makeSimpleTestStubs(): Promise<PythonStubs> {
  const dir = mkdtempSync(join(tmpdir(), "simpletest-python-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  const protoc = await runCommand("protoc", [
    "-I",
    protoDir,
    `--python_out=${dir}`,
    `--grpc_python_out=${dir}`,
    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
    join(protoDir, "simpletest/simple_test.proto"),
  ]);
  if (protoc.code !== 0) {
    remove();
    throw new Error(`protoc failed (needs Debian's protobuf-compiler and protobuf-compiler-grpc):\n${protoc.stderr}`);
  }
  return { dir, remove };
}

interface PythonServer {
  readonly url: string;
  /** Sends SIGTERM, then SIGKILL after 5 s; resolves with the exit code. */
  close(): Promise<number | null>;
}

async function spawnPythonServer(stubs: PythonStubs): Promise<PythonServer> {
  const child = spawn(python, [serverScript, "0"], {
    env: { ...process.env, PYTHONPATH: stubs.dir, PYTHONDONTWRITEBYTECODE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const close = () => stop(child, exited);
  try {
    const [firstLine] = await Promise.race([
      once(createInterface({ input: child.stdout }), "line"),
      exited.then((code) => Promise.reject(new Error(`the Python server exited with ${code}:\n${stderr}`))),
      timeout(10_000, "the Python server did not print its port within 10 s"),
    ]);
    return { url: `http://127.0.0.1:${Number(firstLine)}`, close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  try {
    return await exited;
  } finally {
    clearTimeout(killer);
  }
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}
