import { parseArgs } from "node:util";
import { startCluster } from "./cluster/start-cluster.js";

const usage = `usage: npm run cluster -- [--replicas N] [--port P]

Starts N replicas of the server (default 3) on free loopback ports and HAProxy
in front of them on 127.0.0.1:P (default 8080), configured from
deploy/haproxy.cfg.template. Ctrl-C stops them all. Every replica gets this
process's environment (GETLIST_INTERVAL_MS, LOG_LEVEL, ...).`;

function parse(): { replicas: number; port: number } {
  const { values } = parseArgs({
    options: {
      replicas: { type: "string", default: "3" },
      port: { type: "string", default: "8080" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const replicas = Number(values.replicas);
  const port = Number(values.port);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 32) throw new Error("--replicas must be 1 to 32");
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("--port must be 1 to 65535");
  return { replicas, port };
}

let options: ReturnType<typeof parse>;
try {
  options = parse();
} catch (e) {
  console.error(`cluster: ${e instanceof Error ? e.message : e}\n\n${usage}`);
  process.exit(2);
}

const cluster = await startCluster({
  ...options,
  checkIntervalMs: 1_000,
  onLine: (name, line) => console.log(`${name.padEnd(7)} | ${line}`),
}).catch((e: unknown) => {
  console.error(`cluster: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
console.log(`\nbalancer: ${cluster.balancer.url} (HAProxy)`);
for (const replica of cluster.replicas) console.log(`${replica.name}: ${replica.url}`);
console.log("Ctrl-C stops them all.\n");

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log("stopping the balancer and the replicas…");
  await cluster.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
process.on("SIGHUP", stop);
