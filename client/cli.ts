import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type DescMessage, type MessageShape, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, createWritableIterable } from "@connectrpc/connect/protocol";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { ResponseListSchema, ResponseOneSchema } from "../gen/simpletest/simple_test_pb.js";
import {
  codecs,
  createSimpleTestClient,
  type HttpVersion,
  httpVersions,
  type Protocol,
  protocols,
  type SendCompression,
  type SimpleTestClient,
} from "./simple-test-client.js";

const usage = `Usage: npm run client -- <method> [options]

Calls SimpleTest and prints each response message as one JSON line the moment
it arrives. On failure it prints the error code and message to stderr and exits
with the gRPC code's number (e.g. 14 for unavailable); 64 for a usage error.

Methods:
  GetOne        unary: one request (--hello), one answer
  GetList       server streaming: five answers, test0 .. test4
  PostList      client streaming: sends every --name, then one answer
  PostAndPost   bidi: sends each --name and waits for its answer before the next
  all           the four above, in that order

Options:
  --url URL          server base URL (default $SIMPLETEST_URL or http://127.0.0.1:8080)
  --protocol P       connect | grpc | grpc-web (default connect)
  --http V           1.1 | 2 (default 2; gRPC and PostAndPost need 2)
  --json             JSON codec instead of binary protobuf
  --get              GetOne with HTTP GET (Connect protocol only)
  --compress C       compress requests: gzip | br (default none)
  --hello TEXT       the GetOne and GetList request (default "world")
  --name TEXT        a PostList / PostAndPost request; repeat it (default: alice, bob, carol)
  --timeout MS       deadline for each call, in milliseconds
  --ca FILE          trust this PEM certificate authority (for https)
  -h, --help         show this help

Examples:
  npm run client -- GetOne --hello you
  npm run client -- all --protocol grpc
  npm run client -- PostAndPost --protocol grpc-web --json --name x --name y`;

const methods = ["GetOne", "GetList", "PostList", "PostAndPost"] as const;
type Method = (typeof methods)[number];

class UsageError extends Error {}

interface CallOptions {
  readonly hello: string;
  readonly names: readonly string[];
  readonly timeoutMs?: number;
}

function print<Desc extends DescMessage>(method: Method, schema: Desc, message: MessageShape<Desc>) {
  process.stdout.write(`${method} ${toJsonString(schema, message)}\n`);
}

async function call(client: SimpleTestClient, method: Method, options: CallOptions): Promise<void> {
  const callOptions = { timeoutMs: options.timeoutMs };
  switch (method) {
    case "GetOne":
      print(method, ResponseOneSchema, await client.getOne({ hello: options.hello }, callOptions));
      return;
    case "GetList":
      for await (const message of client.getList({ hello: options.hello }, callOptions)) {
        print(method, ResponseListSchema, message);
      }
      return;
    case "PostList": {
      const requests = createAsyncIterable(options.names.map((namelist) => ({ namelist })));
      print(method, ResponseOneSchema, await client.postList(requests, callOptions));
      return;
    }
    case "PostAndPost": {
      const requests = createWritableIterable<{ namelist: string }>();
      const responses = client.postAndPost(requests, callOptions)[Symbol.asyncIterator]();
      try {
        for (const namelist of options.names) {
          // Wait on both: a call that fails never takes the request, and write() would wait forever.
          const [answer] = await Promise.all([responses.next(), requests.write({ namelist })]);
          if (answer.done) throw new ConnectError("stream ended before its answer", Code.DataLoss);
          print(method, ResponseListSchema, answer.value);
        }
        requests.close();
        const end = await responses.next();
        if (!end.done) throw new ConnectError("unexpected extra answer", Code.DataLoss);
      } finally {
        requests.close();
      }
      return;
    }
  }
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      protocol: { type: "string", default: "connect" },
      http: { type: "string" },
      json: { type: "boolean", default: false },
      get: { type: "boolean", default: false },
      compress: { type: "string" },
      hello: { type: "string", default: "world" },
      name: { type: "string", multiple: true },
      timeout: { type: "string" },
      ca: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return undefined;
  const [target, ...extra] = positionals;
  if (target === undefined) throw new UsageError("name a method, or all");
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const chosen = target === "all" ? [...methods] : methods.filter((m) => m === target);
  if (chosen.length === 0) throw new UsageError(`unknown method "${target}"`);
  const oneOf = <T extends string>(name: string, value: string | undefined, allowed: readonly T[]) => {
    if (value !== undefined && !allowed.includes(value as T)) {
      throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${value}"`);
    }
    return value as T | undefined;
  };
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    timeoutMs = Number(values.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      throw new UsageError(`--timeout must be a positive whole number of milliseconds, got "${values.timeout}"`);
    }
  }
  return {
    methods: chosen,
    client: {
      baseUrl: values.url ?? process.env.SIMPLETEST_URL ?? "http://127.0.0.1:8080",
      protocol: oneOf<Protocol>("protocol", values.protocol, protocols),
      httpVersion: oneOf<HttpVersion>("http", values.http, httpVersions),
      codec: values.json ? codecs[1] : codecs[0],
      useHttpGet: values.get,
      sendCompression: oneOf<SendCompression>("compress", values.compress, ["gzip", "br"]),
      ca: values.ca === undefined ? undefined : readFileSync(values.ca),
    },
    call: { hello: values.hello, names: values.name ?? ["alice", "bob", "carol"], timeoutMs },
  };
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  let client: SimpleTestClient;
  try {
    parsed = parse(argv);
    if (parsed === undefined) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    client = createSimpleTestClient(parsed.client);
  } catch (e) {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n\n${usage}\n`);
    return 64;
  }
  try {
    for (const method of parsed.methods) {
      await call(client, method, parsed.call);
    }
    return 0;
  } catch (e) {
    const error = ConnectError.from(e);
    process.stderr.write(`error: ${codeToString(error.code)} (${error.code}): ${error.rawMessage}\n`);
    return error.code;
  } finally {
    client.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
