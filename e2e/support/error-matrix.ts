import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, createFileRegistry, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createWritableIterable } from "@connectrpc/connect/protocol";
import { createServiceClient } from "../../client/service-client.js";
import { SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { describeTransport, type Transport } from "./matrix.js";
import { runCommand } from "./run-command.js";

/**
 * What an out-of-date or careless client calls: a method and a service the
 * server lacks, and SimpleTest.GetOne with a request whose field 1 is bytes
 * (the server's is a string, so bytes that are not UTF-8 do not decode).
 * StringValue has SimpleTest's shape: one string, field 1.
 */
const strangers = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "strangers.proto",
    package: "simpletest",
    dependency: ["google/protobuf/wrappers.proto"],
    syntax: "proto3",
    service: [
      {
        name: "SimpleTest",
        method: [
          { name: "Nope", inputType: ".google.protobuf.StringValue", outputType: ".google.protobuf.StringValue" },
          { name: "GetOne", inputType: ".google.protobuf.BytesValue", outputType: ".google.protobuf.StringValue" },
        ],
      },
      {
        name: "Nope",
        method: [
          { name: "GetOne", inputType: ".google.protobuf.StringValue", outputType: ".google.protobuf.StringValue" },
        ],
      },
    ],
  }),
  () => file_google_protobuf_wrappers,
);
const service = (name: string) => strangers.getService(name) as DescService;

/**
 * Drops the header that names the request's compression: the envelope stays
 * flagged compressed, which the server cannot read (`internal`, as gRPC says).
 */
const forgetEncoding: Interceptor = (next) => (request) => {
  request.header.delete("grpc-encoding");
  request.header.delete("connect-content-encoding");
  return next(request);
};

export interface ErrorCase {
  readonly name: string;
  readonly code: Code;
  /** The case of e2e/python/error_codes_client.py, if grpcio can provoke it. */
  readonly python?: string;
  /** One call that must fail with `code`. */
  call(baseUrl: string, transport: Transport): Promise<void>;
}

/** Every code the server produces before or while it answers, each provoked as a client would. */
export function errorCases(maxMessageBytes: number): ErrorCase[] {
  return [
    {
      name: "unknown method",
      code: Code.Unimplemented,
      python: "unknown_method",
      call: (baseUrl, transport) =>
        withClient(service("simpletest.SimpleTest"), baseUrl, transport, {}, (c) => c.nope({ value: "x" })),
    },
    {
      name: "unknown service",
      code: Code.Unimplemented,
      python: "unknown_service",
      call: (baseUrl, transport) =>
        withClient(service("simpletest.Nope"), baseUrl, transport, {}, (c) => c.getOne({ value: "x" })),
    },
    {
      name: "a request that does not decode",
      code: Code.InvalidArgument,
      python: "invalid_argument",
      call: (baseUrl, transport) =>
        withClient(service("simpletest.SimpleTest"), baseUrl, transport, {}, (c) =>
          c.getOne({ value: Uint8Array.of(0xc3, 0x28) }),
        ),
    },
    {
      name: "a request over MAX_MESSAGE_BYTES",
      code: Code.ResourceExhausted,
      python: "resource_exhausted",
      call: (baseUrl, transport) =>
        withClient(SimpleTest, baseUrl, transport, {}, (c) => c.getOne({ hello: "x".repeat(maxMessageBytes + 1) })),
    },
    {
      name: "GetList past its deadline",
      code: Code.DeadlineExceeded,
      python: "deadline_exceeded",
      call: (baseUrl, transport) =>
        withClient(SimpleTest, baseUrl, transport, {}, async (c) => {
          for await (const _ of c.getList({ hello: "x" }, { timeoutMs: 250 }));
        }),
    },
    {
      // grpcio compresses only with the header that says how: it cannot send this.
      name: "an envelope flagged compressed with no encoding",
      code: Code.Internal,
      call: (baseUrl, transport) =>
        withClient(
          SimpleTest,
          baseUrl,
          transport,
          { sendCompression: "gzip", interceptors: [forgetEncoding] },
          // Large enough to be compressed (connect-es compresses from 1 kB), small enough to be read.
          async (c) => {
            for await (const _ of c.getList({ hello: "x".repeat(Math.min(2_000, maxMessageBytes - 10)) }));
          },
        ),
    },
  ];
}

async function withClient<S extends DescService>(
  desc: S,
  baseUrl: string,
  transport: Transport,
  options: Omit<Parameters<typeof createServiceClient>[1], "baseUrl">,
  // biome-ignore lint/suspicious/noExplicitAny: the hand-made services have no generated types.
  call: (client: any) => Promise<unknown>,
): Promise<void> {
  const client = createServiceClient(desc, { baseUrl, ...transport, ...options });
  try {
    await call(client);
  } finally {
    client.close();
  }
}

/** `repeat` calls of each case over each transport, at once; returns each that did not fail with its code. */
export async function nodeMismatches(
  baseUrl: string,
  cases: readonly ErrorCase[],
  matrixTransports: readonly Transport[],
  repeat: number,
): Promise<string[]> {
  const outcomes = await Promise.all(
    cases.flatMap((c) =>
      matrixTransports.map(async (transport) => {
        const codes = await Promise.all(
          Array.from({ length: repeat }, () =>
            c.call(baseUrl, transport).then(
              () => "ok",
              (e: unknown) => {
                const error = ConnectError.from(e);
                return error.code === c.code ? undefined : `${Code[error.code]} "${error.rawMessage}"`;
              },
            ),
          ),
        );
        const wrong = codes.filter((code) => code !== undefined);
        return wrong.length === 0
          ? []
          : [`${c.name}, ${describeTransport(transport)}: ${wrong.length}/${repeat} got ${[...new Set(wrong)]}`];
      }),
    ),
  );
  return outcomes.flat();
}

const python = "/usr/bin/python3";
const script = join(fileURLToPath(new URL("../python/", import.meta.url)), "error_codes_client.py");

/** The codes each call of Debian's grpcio got, in its own process: grpcio 1.51 died of SIGILL on a bad answer. */
export async function pythonCodes(
  target: string,
  pythonCase: string,
  repeat: number,
  maxMessageBytes: number,
  onLine?: (line: string) => void,
): Promise<{ codes: number[]; exit: string }> {
  const run = await runCommand(python, [script, target, pythonCase, String(repeat), String(maxMessageBytes)], {
    timeoutMs: 60_000,
    onLine,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
  });
  const codes = run.stdout
    .split("\n")
    .filter((line) => line.startsWith('{"code"'))
    .map((line) => JSON.parse(line).code as number);
  const exit = run.code === null ? "killed by a signal" : String(run.code);
  return { codes, exit: run.code === 0 ? exit : `${exit} ${run.stderr.trim().split("\n").slice(-3).join(" | ")}` };
}

/** `repeat` grpcio calls of each case grpcio can make; returns each that did not fail with its code. */
export async function pythonMismatches(
  target: string,
  cases: readonly ErrorCase[],
  repeat: number,
  maxMessageBytes: number,
): Promise<string[]> {
  const outcomes = await Promise.all(
    cases.flatMap(async (c) => {
      if (c.python === undefined) return [];
      const { codes, exit } = await pythonCodes(target, c.python, repeat, maxMessageBytes);
      const wrong = codes.filter((code) => code !== c.code);
      if (exit === "0" && codes.length === repeat && wrong.length === 0) return [];
      return [`${c.name}, grpcio: exit ${exit}; ${codes.length}/${repeat} answered, wrong codes: ${wrong}`];
    }),
  );
  return outcomes.flat();
}

/**
 * A PostAndPost call whose request stream stays open: once `opened` resolves
 * (its first answer came), only the server can end it. `ended` gives the error
 * it ended with, undefined if it succeeded.
 */
export function openBidi(
  baseUrl: string,
  transport: Transport,
): { opened: Promise<void>; ended: Promise<ConnectError | undefined> } {
  const client = createServiceClient(SimpleTest, { baseUrl, ...transport });
  const requests = createWritableIterable<{ namelist: string }>();
  let opened!: () => void;
  const answered = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const ended = (async () => {
    for await (const _ of client.postAndPost(requests, { timeoutMs: 60_000 })) opened();
  })()
    .then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    )
    .finally(() => {
      requests.close();
      client.close();
    });
  void requests.write({ namelist: "open" });
  return { opened: Promise.race([answered, ended.then(() => {})]), ended };
}

/**
 * A PostList call whose request stream stays open, for HTTP/1.1 (no bidi):
 * only the server can end it. `ended` as for `openBidi`; no answer tells when
 * it has reached the server, so watch the server's calls in flight.
 */
export function openClientStream(baseUrl: string, transport: Transport): { ended: Promise<ConnectError | undefined> } {
  const client = createServiceClient(SimpleTest, { baseUrl, ...transport });
  const requests = createWritableIterable<{ namelist: string }>();
  const ended = client
    .postList(requests, { timeoutMs: 60_000 })
    .then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    )
    .finally(() => {
      requests.close();
      client.close();
    });
  void requests.write({ namelist: "open" });
  return { ended };
}
