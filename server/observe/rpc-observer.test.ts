import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { Code, ConnectError, createClient, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { Registry } from "prom-client";
import { SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { createSimpleTestService } from "../services/simple-test.js";
import { hideInternalErrors } from "./hide-internal-errors.js";
import type { RpcLogger } from "./rpc-log-line.js";
import { createRpcMetrics } from "./rpc-metrics.js";
import { observeRpcs } from "./rpc-observer.js";

interface Line {
  readonly level: "info" | "error";
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

function recordingLogger(lines: Line[]): RpcLogger {
  return {
    info: (fields, message) => lines.push({ level: "info", fields: fields as Record<string, unknown>, message }),
    error: (fields, message) => lines.push({ level: "error", fields: fields as Record<string, unknown>, message }),
  };
}

/** A SimpleTest whose GetOne fails as asked, to see errors go through the interceptors. */
function faultyService(): ServiceImpl<typeof SimpleTest> {
  const real = createSimpleTestService({ getListIntervalMs: 0 });
  return {
    ...real,
    getOne(request) {
      if (request.hello === "bug") throw new TypeError("cannot read x of undefined at /srv/app/secret.ts:12");
      if (request.hello === "bad") throw new ConnectError("hello is bad", Code.InvalidArgument);
      return real.getOne(request, undefined as never);
    },
    async *getList() {
      yield { resultlist: "test0" };
      throw new Error("database password is hunter2");
    },
  };
}

describe("the RPC interceptors", () => {
  let registry: Registry;
  let lines: Line[];
  let client: ReturnType<typeof createClient<typeof SimpleTest>>;

  beforeEach(() => {
    registry = new Registry();
    lines = [];
    const log = recordingLogger(lines);
    const transport = createRouterTransport(({ service }) => service(SimpleTest, faultyService()), {
      router: { interceptors: [observeRpcs(createRpcMetrics(registry), log), hideInternalErrors(log)] },
    });
    client = createClient(SimpleTest, transport);
  });

  const metric = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? [];

  it("logs one line per call with procedure, protocol and code, never the request", async () => {
    await client.getOne({ hello: "private text" });
    await assert.rejects(client.getOne({ hello: "bad" }));
    assert.equal(lines.length, 2);
    assert.deepEqual(
      lines.map((l) => [l.level, l.fields.procedure, l.fields.code]),
      [
        ["info", "/simpletest.SimpleTest/GetOne", "ok"],
        ["info", "/simpletest.SimpleTest/GetOne", "invalid_argument"],
      ],
    );
    assert.equal(typeof lines[0].fields.durationMs, "number");
    assert.ok(!JSON.stringify(lines).includes("private text"));
  });

  it("counts started, handled (with gRPC code names), messages and in-flight calls", async () => {
    await client.getOne({ hello: "x" });
    await assert.rejects(client.getOne({ hello: "bad" }));
    assert.equal(
      (await client.postList(createAsyncIterable([{ namelist: "a" }, { namelist: "b" }, { namelist: "c" }]))).result,
      "PostList OK",
    );
    const answers = [];
    for await (const m of client.postAndPost(createAsyncIterable([{ namelist: "a" }, { namelist: "b" }]))) {
      answers.push(m.resultlist);
    }
    assert.deepEqual(answers, ["Hello !! a", "Hello !! b"]);

    const handled = await metric("grpc_server_handled_total");
    const count = (method: string, code: string) =>
      handled.find((v) => v.labels.grpc_method === method && v.labels.grpc_code === code)?.value;
    assert.equal(count("GetOne", "OK"), 1);
    assert.equal(count("GetOne", "InvalidArgument"), 1);
    assert.equal(count("PostList", "OK"), 1);
    assert.equal(count("PostAndPost", "OK"), 1);
    const received = await metric("grpc_server_msg_received_total");
    assert.equal(received.find((v) => v.labels.grpc_method === "PostList")?.value, 3);
    const sent = await metric("grpc_server_msg_sent_total");
    assert.equal(sent.find((v) => v.labels.grpc_method === "PostAndPost")?.value, 2);
    const started = await metric("grpc_server_started_total");
    assert.equal(started.find((v) => v.labels.grpc_method === "GetOne")?.value, 2);
    for (const v of await metric("grpc_server_in_flight")) assert.equal(v.value, 0, JSON.stringify(v.labels));
    assert.match(await registry.metrics(), /grpc_server_handling_seconds_count\{[^}]*grpc_method="GetOne"[^}]*\} 2\n/);
  });

  it("turns an unexpected exception into internal with a generic message, and logs the detail", async () => {
    const error = await client.getOne({ hello: "bug" }).catch((e) => ConnectError.from(e));
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.Internal);
    assert.equal(error.rawMessage, "internal error");
    const failure = lines.find((l) => l.message === "handler failed");
    assert.ok(failure);
    assert.match(String(failure.fields.err), /secret\.ts/);
    assert.equal(lines.at(-1)?.level, "error");
    assert.equal(lines.at(-1)?.fields.code, "internal");
  });

  it("does the same for a stream that fails after its first message", async () => {
    const received: string[] = [];
    const error = await (async () => {
      for await (const m of client.getList({})) received.push(m.resultlist);
    })().catch((e) => ConnectError.from(e));
    assert.deepEqual(received, ["test0"]);
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.Internal);
    assert.ok(!error.message.includes("hunter2"));
    const handled = await metric("grpc_server_handled_total");
    assert.equal(handled.find((v) => v.labels.grpc_method === "GetList")?.labels.grpc_code, "Internal");
  });
});
