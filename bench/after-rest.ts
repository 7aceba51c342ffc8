import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { spawnServer } from "../testkit/server-process.js";
import { describeCpuIdle, keepCpusAwakeUnless } from "./cpu-idle.js";
import { type H2loadResult, runH2load } from "./h2load.js";
import { h2loadRunOf } from "./load.js";
import { nodeVersion, resolveNode } from "./node-binary.js";
import { sampleRss } from "./process-usage.js";
import { workloads } from "./workloads.js";

/**
 * What a trim (IDLE_TRIM_MS) costs the burst after it: our server, pinned to
 * one core, serves a bench workload (h2load's; default gRPC unary), rests
 * until it trims at rest (or as long, with IDLE_TRIM_MS=0, which also leaves
 * out the trim at start), then takes the load from its first call: calls per
 * second over that load's seconds, its first second's p99 and its peak RSS,
 * trim on and off by turns (odd pairs trim first, even pairs the other), and
 * what each trim took and gave back, from its log line. With `--fresh` it
 * serves nothing before the rest, the trim is the one at start, before it
 * listens, and the rest lasts a second past its line: what that trim costs
 * the first burst. The CPUs are kept awake throughout, as the bench keeps
 * them during its loads (`--idle-cpus` lets them halt).
 * `npx tsx bench/after-rest.ts [--node 24] [--workload ID]
 * [--fresh] [--pairs 3] [--seconds 5] [--rest-ms 3000] [--idle-cpus]`, after
 * `npm run build`.
 */
const { values } = parseArgs({
  options: {
    node: { type: "string" },
    pairs: { type: "string", default: "3" },
    "rest-ms": { type: "string", default: "3000" },
    seconds: { type: "string", default: "5" },
    workload: { type: "string", default: "grpc-unary" },
    fresh: { type: "boolean", default: false },
    "idle-cpus": { type: "boolean", default: false },
  },
});
const node = resolveNode(values.node);
const restMs = Number(values["rest-ms"]);
const found = workloads.find((w) => w.id === values.workload && w.driver === "h2load");
if (found === undefined) throw new Error(`--workload: no h2load workload "${values.workload}"`);
const workload = found;
const loadSeconds = Number(values.seconds);
if (!(loadSeconds >= 3))
  throw new Error(
    `--seconds: at least 3 (the later seconds are read apart from the first two), got "${values.seconds}"`,
  );

interface Trim {
  readonly durationMs: number;
  readonly rssBytes: number;
  readonly rssAfterBytes: number;
}

interface Burst {
  /** Calls answered in each second of the load, from its first call. */
  readonly perSecond: readonly number[];
  readonly firstSecondP99Ms: number;
  /** The server's highest RSS over the load, in bytes (sampled every 250 ms, as the bench samples). */
  readonly peakRss: number;
}

/** h2load pinned to core 1 for `seconds`, no warm-up: the calls it saw end in each second, and the first second's p99. */
async function burst(url: string, pid: number, seconds: number): Promise<Burst> {
  const peak = sampleRss(pid);
  let load: H2loadResult;
  let peakRss: number;
  try {
    const shape = { url, connections: 16, streams: 16, seconds, cpu: 1, serverPid: pid };
    load = await runH2load({ ...h2loadRunOf(workload, shape), warmUp: 0 });
  } finally {
    peakRss = peak();
  }
  const bad = load.calls.find((call) => call.status !== 200);
  if (bad !== undefined || load.failed > 0) throw new Error(`${load.failed} calls failed; one got HTTP ${bad?.status}`);
  const first = load.calls.reduce((least, call) => Math.min(least, call.start), Number.POSITIVE_INFINITY);
  const perSecond = Array.from({ length: seconds }, () => 0);
  const firstSecond: number[] = [];
  for (const { start, duration } of load.calls) {
    const second = Math.floor((start + duration - first) / 1e6);
    if (second < seconds) perSecond[second]++;
    if (second === 0) firstSecond.push(duration / 1000);
  }
  firstSecond.sort((a, b) => a - b);
  const firstSecondP99Ms = firstSecond[Math.floor(firstSecond.length * 0.99)] ?? Number.NaN;
  return { perSecond, firstSecondP99Ms, peakRss };
}

/**
 * One server's load, rest and second load (with `--fresh`, no first load); `restFor` undefined:
 * until its trim's line has come (and a second more), which with `--fresh` is the start's.
 */
async function run(trim: boolean, restFor?: number): Promise<{ burst: Burst; trim?: Trim; restedMs: number }> {
  let trimLine: Trim | undefined;
  const server = await spawnServer({
    node,
    under: ["taskset", "-c", "0"],
    env: { IDLE_TRIM_MS: trim ? String(restMs) : "0" },
    // Read by another process on the server's core, as the bench's are; only the trim's line comes back.
    logs: "ship",
    shipped: values.fresh ? '"memory trimmed at start"' : '"memory trimmed at rest"',
    onLine: (line) => {
      trimLine = JSON.parse(line) as Trim;
    },
  });
  try {
    const pid = server.child.pid ?? 0;
    if (!values.fresh) await burst(server.url, pid, loadSeconds);
    const resting = performance.now();
    if (restFor === undefined) {
      while (trimLine === undefined) {
        if (performance.now() - resting > restMs * 5) throw new Error("no trim came");
        await sleep(100);
      }
      await sleep(1_000);
    } else {
      await sleep(restFor);
    }
    const restedMs = performance.now() - resting;
    return { burst: await burst(server.url, pid, loadSeconds), trim: trimLine, restedMs };
  } finally {
    await server.close();
  }
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
// Each server's first two seconds are also read against its own later ones: servers started alike can run apart by a third for a whole burst.
const format = (b: Burst) => {
  const later = b.perSecond.slice(2);
  const mean = later.reduce((sum, calls) => sum + calls, 0) / later.length;
  const own = b.perSecond
    .slice(0, 2)
    .map((calls) => (calls / mean).toFixed(2))
    .join(" and ");
  return `${b.perSecond.join(", ")} calls/s (from the 3rd second on, ${mean.toFixed(0)}/s; the first two seconds ${own} of that); first second's p99 ${b.firstSecondP99Ms.toFixed(1)} ms; peak ${mb(b.peakRss)} MB`;
};
const awake = keepCpusAwakeUnless(values["idle-cpus"]);
process.stdout.write(
  `Node ${nodeVersion(node)}, ${values.fresh ? "a fresh server's trim at start" : `IDLE_TRIM_MS=${restMs}`} against IDLE_TRIM_MS=0, ${workload.title}, ${describeCpuIdle(awake, undefined)}\n`,
);
// Pairs alternate which server runs first; one without a trim that runs first rests as long as the last trimmed one did.
let lastRestedMs = 0;
for (let pair = 1; pair <= Number(values.pairs); pair++) {
  const trimFirst = pair % 2 === 1;
  const early = trimFirst ? undefined : await run(false, lastRestedMs);
  const on = await run(true);
  const off = early ?? (await run(false, on.restedMs));
  lastRestedMs = on.restedMs;
  const t = on.trim as Trim;
  process.stdout.write(
    `pair ${pair}, ${trimFirst ? "trim first" : "no trim first"}: trimmed in ${t.durationMs} ms, RSS ${mb(t.rssBytes)} → ${mb(t.rssAfterBytes)} MB, then ${format(on.burst)}\n` +
      `        no trim, rested ${(off.restedMs / 1000).toFixed(1)} s: ${format(off.burst)}\n`,
  );
}
awake?.release();
