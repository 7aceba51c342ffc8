import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { LoadResult } from "./h2load.js";
import { runLoad } from "./load.js";
import { resolveNode } from "./node-binary.js";
import { envFromPairs, peerSpecs, startServer } from "./servers.js";
import { workloads } from "./workloads.js";

/**
 * Profiles our server (or a peer, `--server grpc-js`) under one bench
 * workload with `node --cpu-prof` and prints where the time goes: by
 * package, then the hottest functions (self time).
 * `npm run bench:profile -- --workload grpc-unary [--env FAST_PATH=off] [--node 24] [--node-flag=--no-opt]
 * [--callers nextTick] [--save run.cpuprofile]`
 * `--save` keeps the profile for Chrome DevTools or a flame graph.
 */
const { values } = parseArgs({
  options: {
    workload: { type: "string", default: "grpc-unary" },
    server: { type: "string", default: "simpletest" },
    seconds: { type: "string", default: "5" },
    node: { type: "string" },
    env: { type: "string", multiple: true, default: [] },
    "node-flag": { type: "string", multiple: true, default: [] },
    top: { type: "string", default: "25" },
    callers: { type: "string" },
    save: { type: "string" },
  },
});
const workload = workloads.find((w) => w.id === values.workload);
if (!workload) throw new Error(`--workload must be one of ${workloads.map((w) => w.id)}`);

const dir = mkdtempSync(join(tmpdir(), "simpletest-prof-"));
const env = envFromPairs(values.env);
const spec =
  values.server === "simpletest" ? { name: "simpletest", script: "server/main.ts", env } : peerSpecs[values.server];
if (!spec) throw new Error(`--server must be simpletest or one of ${Object.keys(peerSpecs)}`);
const server = await startServer(
  spec,
  resolveNode(values.node),
  [...values["node-flag"], "--cpu-prof", `--cpu-prof-dir=${dir}`],
  0,
);
let result: LoadResult;
try {
  result = await runLoad(workload, {
    url: server.url,
    connections: 16,
    streams: 16,
    seconds: Number(values.seconds),
    cpu: 1,
    serverPid: server.pid,
  });
} finally {
  await server.stop();
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
if (!file) throw new Error("the server wrote no profile");
const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as { nodes: Node[] };
if (values.save) copyFileSync(join(dir, file), values.save);
rmSync(dir, { recursive: true, force: true });

const total = profile.nodes.reduce((sum, n) => sum + n.hitCount, 0);
const pct = (hits: number) => `${((100 * hits) / total).toFixed(1).padStart(5)}%`;
const area = (url: string) => {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith("node:")) return "node core";
  if (url === "") return "(native, gc, idle)";
  return url.includes("/work/") || url.startsWith("file:") ? "this project" : url;
};
const sum = (keyOf: (n: Node) => string) => {
  const by = new Map<string, number>();
  for (const n of profile.nodes) by.set(keyOf(n), (by.get(keyOf(n)) ?? 0) + n.hitCount);
  return [...by].sort((a, b) => b[1] - a[1]);
};
process.stdout.write(
  `${spec.name}, ${workload.id}: ${result.rps.toFixed(0)} req/s under the profiler\n\nby package:\n`,
);
for (const [name, hits] of sum((n) => area(n.callFrame.url)).slice(0, 12))
  process.stdout.write(`${pct(hits)}  ${name}\n`);
process.stdout.write("\nhottest functions (self time):\n");
const top = sum(
  (n) =>
    `${n.callFrame.functionName || "(anonymous)"}  ${n.callFrame.url.replace(/.*node_modules\//, "")}:${n.callFrame.lineNumber + 1}`,
);
for (const [name, hits] of top.slice(0, Number(values.top))) process.stdout.write(`${pct(hits)}  ${name}\n`);

// --callers NAME: where the self time of the functions called NAME comes from, by the chain of callers.
if (values.callers) {
  const parentOf = new Map<number, Node>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n);
  const label = (n: Node) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/.*\//, "")}`;
  const chains = new Map<string, number>();
  for (const n of profile.nodes) {
    if (n.callFrame.functionName !== values.callers || n.hitCount === 0) continue;
    const chain: string[] = [];
    for (let p = parentOf.get(n.id); p !== undefined && chain.length < 4; p = parentOf.get(p.id)) chain.push(label(p));
    chains.set(chain.join(" < "), (chains.get(chain.join(" < ")) ?? 0) + n.hitCount);
  }
  process.stdout.write(`\ncallers of ${values.callers} (self time):\n`);
  for (const [chain, hits] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, 12))
    process.stdout.write(`${pct(hits)}  < ${chain}\n`);
}
