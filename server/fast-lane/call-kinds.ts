import type { ConnectError } from "@connectrpc/connect";
import { type Answering, asConnectError } from "./answering.js";
import { LaneResponse } from "./call-views.js";
import { isEnveloped } from "./choose-call.js";
import { adoptHeaders, invokeStream, invokeUnary } from "./invoke.js";
import { listed } from "./message-streams.js";
import * as connect from "./protocol-connect.js";
import * as grpc from "./protocol-grpc.js";

/** How the lane answers a call of one kind: with the request messages read, or with why the call ended first. */
export interface Kind {
  serve(answering: Answering, inputs: unknown[]): Promise<void>;
  fail(answering: Answering, error: unknown): Promise<void>;
}

export const unary: Kind = {
  async serve(answering, [input]) {
    const { plan, call, exchange } = answering;
    const { serving, route } = plan;
    const enveloped = isEnveloped(plan.shape);
    let answer: Uint8Array | string;
    try {
      const values = serving.options.contextValues(exchange.info);
      const result = await invokeUnary(call, route.spec, input, serving.opt.interceptors, values);
      // Reading the headers of the lane's own answer would make them; they are the call's anyway.
      if (!(result instanceof LaneResponse)) {
        adoptHeaders(result.header, call, "responseHeader");
        adoptHeaders(result.trailer, call, "responseTrailer");
      }
      answer =
        plan.shape === "connect-json"
          ? route.jsonAnswer(result.message)
          : route.binaryAnswer(result.message, enveloped ? grpc.envelopeHead : 0);
    } catch (e) {
      return unary.fail(answering, e);
    }
    call.end();
    // Text is a Connect JSON answer.
    return typeof answer === "string" || !enveloped
      ? connect.answerUnary(answering, answer)
      : grpc.answerUnary(answering, answer);
  },

  async fail(answering, e) {
    answering.call.end(e);
    const error = asConnectError(e);
    return isEnveloped(answering.plan.shape)
      ? grpc.answerError(answering, error)
      : connect.answerError(answering, error);
  },
};

/**
 * Server, client and bidi streaming over gRPC, server streaming over
 * gRPC-Web; Connect's streaming protocol is connect-es's.
 */
export const streaming: Kind & {
  /** With the requests as they come (a stream the lane reads itself, see live-requests.ts). */
  serveLive(answering: Answering, requests: AsyncIterable<unknown>): Promise<void>;
} = {
  serve: (answering, inputs) => streamAnswers(answering, listed(inputs)),
  serveLive: streamAnswers,
  // As in connect-es, the interceptors see the call, its request failing with why it ended.
  fail: (answering, e) => streamAnswers(answering, failing(e)),
};

async function streamAnswers(answering: Answering, requests: AsyncIterable<unknown>): Promise<void> {
  const { plan, call, exchange } = answering;
  const { serving, route } = plan;
  const writer = new grpc.StreamWriter(answering);
  let error: ConnectError | undefined;
  try {
    const values = serving.options.contextValues(exchange.info);
    const response = await invokeStream(call, route.spec, requests, serving.opt.interceptors, values);
    // As for unary calls: an answer an interceptor made may bring headers of its own.
    const replaced = !(response instanceof LaneResponse);
    if (replaced) adoptHeaders(response.header, call, "responseHeader");
    for await (const message of response.message) {
      const full = writer.send(route.binaryAnswer(message, grpc.envelopeHead));
      if (full !== undefined) await full;
    }
    if (replaced) adoptHeaders(response.trailer, call, "responseTrailer");
  } catch (e) {
    call.end(e);
    error = asConnectError(e);
  }
  call.end();
  await writer.finish(error);
}

/** A request stream whose first read fails with `reason`. */
async function* failing(reason: unknown): AsyncIterable<unknown> {
  yield* [];
  throw reason;
}
