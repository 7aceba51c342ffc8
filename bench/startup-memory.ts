import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { built, startNodeFlags } from "../testkit/built-server.js";
import { nodeVersion, resolveNode } from "./node-binary.js";
import { repo } from "./source-state.js";

/**
 * Where a fresh server's resident memory comes from: loads our server's
 * layers one after another in one process (node with npm start's flags), and
 * the grpc-js peer's in another, printing RSS and the V8 heap in use after
 * each. `npx tsx bench/startup-memory.ts [--node 24]`, after `npm run build`.
 */
const { values } = parseArgs({ options: { node: { type: "string" } } });
const node = resolveNode(values.node);

const measure = `
const { createRequire } = await import("node:module");
const require = createRequire(process.cwd() + "/");
const mb = (bytes, digits = 1) => (bytes / 2 ** 20).toFixed(digits);
const show = async (label) => {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const { rss, heapUsed } = process.memoryUsage();
  const undici = process.moduleLoadList.some((name) => name.includes("undici")) ? "  (node's undici loaded)" : "";
  console.log(label.padEnd(58) + mb(rss, 0).padStart(5) + mb(heapUsed).padStart(8) + undici);
};
// node:v8 only at the end: loaded first, it would count in every layer above.
const spaces = async () => {
  const { getHeapSpaceStatistics } = await import("node:v8");
  for (const space of getHeapSpaceStatistics().filter((s) => ["new_space", "old_space"].includes(s.space_name))) {
    console.log(\`  V8 \${space.space_name}: \${mb(space.space_size)} MB committed, \${mb(space.space_used_size)} in use, \${mb(space.physical_space_size)} resident\`);
  }
};
`;

const ours = `${measure}
await show("node, nothing loaded");
require("fastify");
await show("+ Fastify (CommonJS)");
await import("node:http");
await show("+ node:http imported as ESM");
await import("@connectrpc/connect-fastify");
await show("+ connect-fastify, connect-es, protobuf-es");
require("prom-client");
await show("+ prom-client (the metrics)");
require("@fastify/static");
await show("+ @fastify/static (the page)");
const { buildApp } = await import(${JSON.stringify(built("server/app.ts"))});
const { loadConfig } = await import(${JSON.stringify(built("server/config.ts"))});
await show("+ our modules (pino, the lane, ...)");
const { trimMemoryAtStart } = await import(${JSON.stringify(built("server/memory-at-rest.ts"))});
const app = await buildApp(loadConfig({ LOG_LEVEL: "warn", PORT: "0", HOST: "127.0.0.1" }));
await show("+ the app built");
trimMemoryAtStart(app.fastify.log);
await app.fastify.listen({ host: "127.0.0.1", port: 0 });
await show("+ trimmed at start and listening (npm start, at rest)");
await spaces();
await app.fastify.close();
process.exit(0);
`;

const grpcJs = `${measure}
await show("node, nothing loaded");
require("@grpc/grpc-js");
require("@grpc/proto-loader");
await show("+ @grpc/grpc-js, @grpc/proto-loader (protobuf.js)");
await import(${JSON.stringify(built("bench/peers/grpc-js-server.ts"))});
await show("+ the peer's service loaded and listening (at rest)");
await spaces();
process.exit(0);
`;

const flags = startNodeFlags();
process.stdout.write(`${nodeVersion(node)} ${flags.join(" ")}\n${"".padEnd(58)}  RSS MB  heap MB\n`);
for (const [name, script] of [
  ["ours", ours],
  ["grpc-js", grpcJs],
]) {
  process.stdout.write(`${name}:\n`);
  process.stdout.write(
    execFileSync(node, [...flags, "--input-type=module", "-e", script], {
      cwd: repo,
      env: { ...process.env, PORT: "0" },
      encoding: "utf8",
    }),
  );
}
