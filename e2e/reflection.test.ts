import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { createSimpleTestClient } from "../client/simple-test-client.js";
import { ConfigError, loadConfig } from "../server/config.js";
import { makePythonStubs, type PythonStubs, runPythonScript } from "./support/grpc-proto-python.js";
import { type CommandResult, runCommand } from "./support/run-command.js";
import { type RunningServer, startServer } from "./support/server.js";

const buf = fileURLToPath(new URL("../node_modules/.bin/buf", import.meta.url));

const servedServices = [
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "simpletest.SimpleTest",
];

/** `buf curl` with no schema: everything it knows of the service, it learns by reflection. */
function bufCurl(args: readonly string[], input?: string): Promise<CommandResult> {
  return runCommand(buf, ["curl", ...args], { input, timeoutMs: 20_000 });
}

/** buf curl prints each message as an indented JSON object. */
function messages(result: CommandResult): unknown[] {
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .trim()
    .split(/\n(?=\{)/)
    .map((text) => JSON.parse(text));
}

describe("buf curl, with no proto files, learns the service by reflection", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server?.close());

  for (const protocol of ["grpc", "connect", "grpcweb"]) {
    describe(`over ${protocol}`, () => {
      const flags = ["--protocol", protocol, "--http2-prior-knowledge"];
      const method = (name: string) => `${server.url}/simpletest.SimpleTest/${name}`;

      for (const reflectProtocol of ["grpc-v1", "grpc-v1alpha"]) {
        it(`lists every service the server serves, by ${reflectProtocol} reflection`, async () => {
          const listed = await bufCurl([
            ...flags,
            "--reflect-protocol",
            reflectProtocol,
            "--list-services",
            server.url,
          ]);
          assert.equal(listed.code, 0, listed.stderr);
          assert.deepEqual(listed.stdout.trim().split("\n").sort(), servedServices);
        });
      }

      it("lists every method", async () => {
        const listed = await bufCurl([...flags, "--list-methods", server.url]);
        assert.equal(listed.code, 0, listed.stderr);
        const simpleTest = listed.stdout.split("\n").filter((line) => line.startsWith("simpletest."));
        assert.deepEqual(simpleTest.sort(), [
          "simpletest.SimpleTest/GetList",
          "simpletest.SimpleTest/GetOne",
          "simpletest.SimpleTest/PostAndPost",
          "simpletest.SimpleTest/PostList",
        ]);
      });

      it("calls GetOne (unary)", async () => {
        const answer = await bufCurl([...flags, "-d", '{"hello":"world"}', method("GetOne")]);
        assert.deepEqual(messages(answer), [{ result: "Hello !! world" }]);
      });

      it("calls GetList (server streaming)", async () => {
        const answer = await bufCurl([...flags, "-d", '{"hello":"world"}', method("GetList")]);
        assert.deepEqual(
          messages(answer),
          [0, 1, 2, 3, 4].map((i) => ({ resultlist: `test${i}` })),
        );
      });

      it("calls PostList (client streaming) with requests from stdin", async () => {
        const answer = await bufCurl(
          [...flags, "-d", "@-", method("PostList")],
          '{"namelist":"a"}\n{"namelist":"b"}\n',
        );
        assert.deepEqual(messages(answer), [{ result: "PostList OK" }]);
      });

      it("calls PostAndPost (bidi streaming) with requests from stdin", async () => {
        const answer = await bufCurl(
          [...flags, "-d", "@-", method("PostAndPost")],
          '{"namelist":"alice"}\n{"namelist":"bob"}\n{"namelist":"carol"}\n',
        );
        assert.deepEqual(messages(answer), [
          { resultlist: "Hello !! alice" },
          { resultlist: "Hello !! bob" },
          { resultlist: "Hello !! carol" },
        ]);
      });
    });
  }
});

describe("grpc.reflection.v1alpha, from Python grpcio", () => {
  let server: RunningServer;
  let stubs: PythonStubs;
  before(async () => {
    stubs = makePythonStubs(["grpc/reflection/v1alpha/reflection.proto"]);
    server = await startServer();
  });
  after(async () => {
    await server?.close();
    stubs?.remove();
  });

  /** Asks every question on one stream; returns one answer per question. */
  async function ask(...questions: string[]): Promise<Record<string, unknown>[]> {
    const result = await runPythonScript(
      "reflection_v1alpha_client.py",
      [`127.0.0.1:${server.port}`, ...questions],
      stubs,
    );
    assert.equal(result.code, 0, result.stderr);
    return result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
  }

  it("lists every service the server serves", async () => {
    const [answer] = await ask("list_services=");
    assert.deepEqual((answer.services as string[]).sort(), servedServices);
  });

  it("sends a file by name, complete enough for protobuf's own descriptor pool", async () => {
    assert.deepEqual(await ask("file_by_filename=simpletest/simple_test.proto"), [
      {
        files: ["simpletest/simple_test.proto"],
        methods: { "simpletest.SimpleTest": ["GetOne", "GetList", "PostList", "PostAndPost"] },
      },
    ]);
  });

  it("finds the file that declares a service, method, message or enum value", async () => {
    const answers = await ask(
      "file_containing_symbol=simpletest.SimpleTest",
      "file_containing_symbol=simpletest.SimpleTest.GetList",
      "file_containing_symbol=simpletest.ResponseList",
      "file_containing_symbol=grpc.health.v1.HealthCheckResponse.NOT_SERVING",
      "file_containing_symbol=grpc.reflection.v1alpha.ServerReflection",
    );
    assert.deepEqual(
      answers.map((answer) => answer.files),
      [
        ["simpletest/simple_test.proto"],
        ["simpletest/simple_test.proto"],
        ["simpletest/simple_test.proto"],
        ["grpc/health/v1/health.proto"],
        ["grpc/reflection/v1alpha/reflection.proto"],
      ],
    );
  });

  it("answers NOT_FOUND for unknown names and for extensions, which no file declares", async () => {
    const answers = await ask(
      "file_by_filename=nope.proto",
      "file_containing_symbol=simpletest.Nope",
      "file_containing_extension=simpletest.RequestOne:100",
      "all_extension_numbers_of_type=simpletest.Nope",
    );
    assert.deepEqual(
      answers.map((answer) => answer.error),
      [Code.NotFound, Code.NotFound, Code.NotFound, Code.NotFound],
    );
  });

  it("lists no extension numbers for a message that has none", async () => {
    assert.deepEqual(await ask("all_extension_numbers_of_type=simpletest.RequestOne"), [
      { base_type_name: "simpletest.RequestOne", extension_numbers: [] },
    ]);
  });
});

describe("REFLECTION=off", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ REFLECTION: "off" });
  });
  after(() => server?.close());

  for (const reflectProtocol of ["grpc-v1", "grpc-v1alpha"]) {
    it(`answers ${reflectProtocol} reflection with unimplemented`, async () => {
      const listed = await bufCurl([
        "--protocol",
        "grpc",
        "--reflect-protocol",
        reflectProtocol,
        "--list-services",
        server.url,
      ]);
      assert.notEqual(listed.code, 0);
      assert.match(listed.stderr, /unimplemented/);
    });
  }

  it("still serves SimpleTest", async () => {
    const client = createSimpleTestClient({ baseUrl: server.url, protocol: "grpc" });
    try {
      assert.equal((await client.getOne({ hello: "x" })).result, "Hello !! x");
    } finally {
      client.close();
    }
  });

  it("is on by default, and a value other than on or off is a one-line error naming REFLECTION", () => {
    assert.equal(loadConfig({}).reflection, true);
    assert.equal(loadConfig({ REFLECTION: "on" }).reflection, true);
    assert.equal(loadConfig({ REFLECTION: "off" }).reflection, false);
    assert.throws(
      () => loadConfig({ REFLECTION: "yes" }),
      (e) => e instanceof ConfigError && e.message === 'REFLECTION must be on or off, got "yes"',
    );
  });
});
