import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createServiceImplSpec } from "@connectrpc/connect";
import { validateUniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { RequestOneSchema, SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { createSimpleTestService } from "../services/simple-test.js";
import { type Route, routesOf } from "./choose-call.js";

/** GetOne's route, with connect-es's options as a handler validates them. */
function getOne(readMaxBytes?: number): Route {
  const spec = createServiceImplSpec<typeof SimpleTest>(SimpleTest, createSimpleTestService({ getListIntervalMs: 0 }));
  const routes = routesOf([spec], validateUniversalHandlerOptions({ readMaxBytes }));
  return routes.get("/simpletest.SimpleTest/GetOne") as Route;
}

/** What a parse throws, as the client would see it: its code and message. */
function thrown(parse: () => unknown): unknown {
  try {
    parse();
  } catch (e) {
    return { code: (e as { code?: unknown }).code, message: (e as Error).message };
  }
  assert.fail("did not throw");
}

describe("a route's binary request", () => {
  it("is fromBinary's message", () => {
    const bytes = toBinary(RequestOneSchema, create(RequestOneSchema, { hello: "world" }));
    assert.deepStrictEqual(getOne().binaryRequest(bytes), fromBinary(RequestOneSchema, bytes));
  });

  it("refuses a message over the size limit as connect-es's parse does, though the lane could read it", () => {
    const route = getOne(5);
    const bytes = toBinary(RequestOneSchema, create(RequestOneSchema, { hello: "world" }));
    const connectEs = route.serialization.getI(true).parse;
    assert.deepStrictEqual(
      thrown(() => route.binaryRequest(bytes)),
      thrown(() => connectEs(bytes)),
    );
    assert.match(
      String((thrown(() => route.binaryRequest(bytes)) as { message: string }).message),
      /larger than configured readMaxBytes 5/,
    );
  });

  it("fails on bytes that are not the message as connect-es's parse does", () => {
    const route = getOne();
    const bytes = new Uint8Array([0x0a, 0x05, 0x61]);
    assert.deepStrictEqual(
      thrown(() => route.binaryRequest(bytes)),
      thrown(() => route.serialization.getI(true).parse(bytes)),
    );
  });
});
