import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildBaseline } from "./baseline.js";
import { headersOf, refuse, rpsOf } from "./cli-options.js";
import { describeCpuIdle, haltsDuring, keepCpusAwakeUnless } from "./cpu-idle.js";
import { episodeGapMs, type LoadResult } from "./h2load.js";
import { fellShort, offeredRate, runLoad, takesRate, wholeLoadCalls } from "./load.js";
import { resolveNode } from "./node-binary.js";
import { envFromPairs, peerSpecs, startServer } from "./servers.js";
import { workloads } from "./workloads.js";

/**
 * Profiles our server (or a peer, `--server grpc-js`) under one bench
 * workload with V8's CPU profiler over the measured window and prints where
 * the time goes, as a share and in µs per call: by package, then the hottest
 * functions (self time); or, with
 * `--allocations`, what it allocates (V8's sampling heap profiler, freed
 * objects included: the work its garbage collector is given), or with
 * `--promoted` what of that no scavenge frees; or, with
 * `--gc`, what its collections cost and how much of what it allocates lives
 * on into the old generation (node:v8's GCProfiler); or, with `--loop-delay`,
 * how long its event loop's turns run (node:perf_hooks), which is what the
 * tail of the calls' latency is made of when one core serves them all; or,
 * with `--counts`, how many ticks, promises and listener calls a call makes:
 * what it does rather than how long it takes, which a noisy machine blurs.
 */
const usage = `npm run bench:profile -- [options]
  --workload ID      the load (default grpc-unary): ${workloads.map((w) => w.id).join(", ")}
  --server NAME      simpletest (default); simpletest@REV, our server as built at git revision REV (as
                     npm run bench -- --against REV builds it); or a peer: ${Object.keys(peerSpecs).join(", ")}
  --seconds N        measured seconds (default 5; plus 1 s warm-up)
  --node V|PATH      Node major V from the npm registry (cached), or this binary
  --env K=V          extra environment for our server (repeatable), e.g. FAST_PATH=off
  --node-flag F      a Node flag for the server (repeatable), e.g. --no-opt
  --rps N            each connection sends N calls a second (h2load's --rps) rather than as many as
                     the server answers: two servers' cost per call at the same load (h2load loads only)
  --header "N: V"    one more request header (repeatable; h2load loads only), e.g. to see what a
                     client's headers cost a server (step 71)
  --top N            how many of the hottest functions to print (default 25)
  --callers NAME     also the call chains behind that function's self time
  --idle-cpus        let the CPUs halt when idle during the load, as npm run bench -- --idle-cpus does;
                     otherwise they are kept polling, as npm run bench keeps them
  --stretches        also the longest stretches the main thread spent under one entry point (a
                     tick-queue drain, a timer, a socket read, a collection), and what took the time
                     in those of 10 ms or more: what the longest turns of the event loop are made of
  --save FILE        keep the profile (.cpuprofile) for Chrome DevTools or a flame graph
  --allocations      bytes allocated per call over the measured window, by package and function
  --promoted         as --allocations, only what no scavenge freed: what was promoted to the old
                     generation, or freed young by a full collection, or not yet collected when the
                     window closed; by package and function
  --gc               collections over the measured window: how many, their pauses, the bytes per
                     call promoted to the old generation, and those allocated outside the young
                     generation directly (which set, with promotion, how soon a full collection comes)
  --loop-delay       the time between a 1 ms timer's firings over the measured window (the
                     turns' length), beside the calls' p50 and p99; how the slowest 1% of calls
                     fall in time, and the longest turns, marked where one came with a full
                     collection
  --memory           what the server's memory was made of at its highest RSS over the measured window:
                     the node binary's pages and other files, V8's heap by space, malloc's main heap
                     and the rest, and what V8 had allocated with malloc
  --counts           per call over the measured window: process.nextTick calls, promises made (as
                     V8's promise hooks see them, which make some of their own), listeners added
                     and taken off with on/off (removeAllListeners only through the removeListener
                     calls it makes on an emitter with a "removeListener" listener)
Every run also says how often the server's main thread was switched out per call (waits and
preemptions; the CPU profiler's own wake-ups among them when it runs; with WORKERS=N, the primary's),
and how many read and write system calls its processes made per call (h2load's loads).`;

const { values } = parseArgs({
  options: {
    workload: { type: "string", default: "grpc-unary" },
    server: { type: "string", default: "simpletest" },
    seconds: { type: "string", default: "5" },
    node: { type: "string" },
    env: { type: "string", multiple: true, default: [] },
    "node-flag": { type: "string", multiple: true, default: [] },
    rps: { type: "string" },
    header: { type: "string", multiple: true, default: [] },
    top: { type: "string", default: "25" },
    callers: { type: "string" },
    stretches: { type: "boolean", default: false },
    "idle-cpus": { type: "boolean", default: false },
    save: { type: "string" },
    allocations: { type: "boolean", default: false },
    promoted: { type: "boolean", default: false },
    gc: { type: "boolean", default: false },
    "loop-delay": { type: "boolean", default: false },
    memory: { type: "boolean", default: false },
    counts: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const chosenWorkload = workloads.find((w) => w.id === values.workload);
if (!chosenWorkload) throw new Error(`--workload must be one of ${workloads.map((w) => w.id)}`);
const ratePerConnection = rpsOf(values.rps);
if (ratePerConnection !== undefined && !takesRate(chosenWorkload))
  refuse("--rps", `needs an h2load workload; ${chosenWorkload.id} runs its own driver`);
if (values.header.length > 0 && !takesRate(chosenWorkload))
  refuse("--header", `needs an h2load workload; ${chosenWorkload.id} runs its own driver`);
const addedHeaders = headersOf(values.header);
const workload = { ...chosenWorkload, headers: { ...chosenWorkload.headers, ...addedHeaders } };
const loadName = `${workload.id}${values.header.length > 0 ? ` with --header ${Object.keys(addedHeaders).join(", ")}` : ""}`;

const dir = mkdtempSync(join(tmpdir(), "simpletest-prof-"));
const env = envFromPairs(values.env);
const spec = values.server.startsWith("simpletest@")
  ? { ...buildBaseline(values.server.slice("simpletest@".length)), script: "server/main.ts", env }
  : values.server === "simpletest"
    ? { name: "simpletest", script: "server/main.ts", env }
    : peerSpecs[values.server];
if (!spec) throw new Error(`--server must be simpletest, simpletest@REV or one of ${Object.keys(peerSpecs)}`);
/**
 * The readings besides the CPU profile, by their flag: the recorder loaded into the server
 * (started and stopped by SIGUSR2 with the measured window), the variable naming the file it
 * writes, what else it is told, and what prints that file.
 */
const readings = {
  allocations: {
    module: "allocation-sampler.mjs",
    variable: "ALLOCATION_PROFILE",
    print: sampledBytes("allocated", "freed objects included"),
  },
  promoted: {
    module: "allocation-sampler.mjs",
    variable: "ALLOCATION_PROFILE",
    env: { ALLOCATION_OUTLIVING_SCAVENGES: "1" },
    print: sampledBytes("that no scavenge freed", "promoted, freed by a full collection, or not yet collected"),
  },
  gc: { module: "gc-recorder.mjs", variable: "GC_PROFILE", print: printCollections },
  "loop-delay": { module: "loop-delay-recorder.mjs", variable: "LOOP_DELAY_PROFILE", print: printLoopDelay },
  memory: { module: "memory-recorder.mjs", variable: "MEMORY_PROFILE", print: printMemory },
  counts: { module: "count-recorder.mjs", variable: "COUNTS_PROFILE", print: printCounts },
} as const;
const chosen = (Object.keys(readings) as (keyof typeof readings)[]).filter((flag) => values[flag]);
if (chosen.length > 1)
  throw new Error(`${chosen.map((flag) => `--${flag}`).join(" and ")} each take a run of their own`);
const reading = chosen.length === 1 ? readings[chosen[0]] : undefined;
const recorder: { module: string; variable: string; env?: Record<string, string> } = reading ?? {
  module: "cpu-sampler.mjs",
  variable: "CPU_PROFILE",
};
const recorded = join(dir, "recorded.json");
const serverCpu = 0;
const server = await startServer(
  { ...spec, env: { ...spec.env, ...recorder.env, [recorder.variable]: recorded } },
  resolveNode(values.node),
  [...values["node-flag"], `--import=${fileURLToPath(new URL(recorder.module, import.meta.url))}`],
  String(serverCpu),
);
const shape = {
  url: server.url,
  connections: 16,
  streams: 16,
  seconds: Number(values.seconds),
  cpu: 1,
  serverPid: server.pid,
  signalWindow: true,
  ratePerConnection,
};
let result: LoadResult;
let halts: (number | undefined)[];
const awake = keepCpusAwakeUnless(values["idle-cpus"]);
const cpuIdle = describeCpuIdle(awake, undefined);
try {
  // The load's driver signals the recorder as its measured window opens and closes.
  ({ result, halts } = await haltsDuring([serverCpu, shape.cpu], () => runLoad(workload, shape)));
  for (let waited = 0; !existsSync(recorded); waited += 100) {
    if (waited > 30_000) throw new Error(`the server wrote no ${recorder.variable}`);
    await sleep(100);
  }
} finally {
  awake?.release();
  await server.stop();
}

const unit = workload.driver === "bidi" ? "message" : "call";
const offeredCalls = offeredRate(workload, shape);
const offered =
  offeredCalls === undefined
    ? ""
    : ` (${offeredCalls} offered${fellShort(result, offeredCalls) ? ", not kept up with: at its saturation, not at that load" : ""})`;
const calls = result.rps * Number(values.seconds);
/**
 * How often the server's main thread was switched out a call (a log write to an empty pipe wakes
 * its reader, which shares the server's core: bench/README.md, step 69), and how many system
 * calls a call took to read and write its sockets and the log's pipe (step 70).
 */
const writeWindowCounts = () => {
  const { serverSwitches: switches, serverSystemCalls: systemCalls } = result;
  if (switches !== undefined && Number.isFinite(switches)) {
    process.stdout.write(
      `the server's main thread switched out ${(switches / calls).toFixed(4)} times per ${unit} (waits and preemptions)\n`,
    );
  }
  if (systemCalls !== undefined && Number.isFinite(systemCalls.reads + systemCalls.writes)) {
    process.stdout.write(
      `the server made ${(systemCalls.reads / calls).toFixed(3)} read and ${(systemCalls.writes / calls).toFixed(3)} write system calls per ${unit} (sockets, the log's pipe, files)\n`,
    );
  }
};
if (reading) {
  process.stdout.write(
    `${spec.name}, ${loadName}: ${result.rps.toFixed(0)} req/s${offered} while recorded, ${cpuIdle}\n`,
  );
  reading.print(JSON.parse(readFileSync(recorded, "utf8")), calls, unit, result);
  writeWindowCounts();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}
const profile = JSON.parse(readFileSync(recorded, "utf8")) as {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
};
if (values.save) copyFileSync(recorded, values.save);
rmSync(dir, { recursive: true, force: true });
const parentOf = new Map<number, Node>();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n);
/** A frame as the caller chains and the stretches name it: its function and its file. */
const label = (n: Node) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/.*\//, "")}`.trim();

const total = profile.nodes.reduce((sum, n) => sum + n.hitCount, 0);
// The profile spans the measured window: a share of its samples is that share of the window's time.
const usPerCall = (hits: number) => ((hits / total) * (profile.endTime - profile.startTime)) / calls;
const pct = (hits: number) =>
  `${((100 * hits) / total).toFixed(1).padStart(5)}% ${usPerCall(hits).toFixed(2).padStart(7)} µs`;
const sum = (keyOf: (n: Node) => string) => {
  const by = new Map<string, number>();
  for (const n of profile.nodes) by.set(keyOf(n), (by.get(keyOf(n)) ?? 0) + n.hitCount);
  return [...by].sort((a, b) => b[1] - a[1]);
};
process.stdout.write(
  `${spec.name}, ${loadName}: ${result.rps.toFixed(0)} req/s${offered} under the profiler, ${cpuIdle}; share of the window, and its µs per ${unit}\n\nby package:\n`,
);
// The window's idle time in a row of its own: the other rows are the thread's time, waits in system calls included.
const areas = sum((n) => (n.callFrame.functionName === "(idle)" ? "(idle)" : area(n.callFrame.url)));
for (const [name, hits] of areas.slice(0, 12)) process.stdout.write(`${pct(hits)}  ${name}\n`);
// What the samples say was not idle, beside what the process used (/proc, its threads included).
const sampledCpu = usPerCall(total - (areas.find(([name]) => name === "(idle)")?.[1] ?? 0));
process.stdout.write(
  `${sampledCpu.toFixed(1)} µs per ${unit} not idle in the samples; the process used ${((result.serverCpuSeconds / calls) * 1e6).toFixed(1)} µs of CPU per ${unit}, its threads included\n`,
);
// Counted over the whole load (its driver's start and warm-up too), so per call of about that many.
const loadCalls = wholeLoadCalls(result, Number(values.seconds));
const haltsPerCall = halts.map((n) => (n === undefined ? "?" : (n / loadCalls).toFixed(3)));
process.stdout.write(
  `halts per ${unit} over the load (a CPU going idle, polling aside): the server's CPU ${haltsPerCall[0]}, the load's ${haltsPerCall[1]}\n`,
);
writeWindowCounts();
process.stdout.write("\nthis project, by file:\n");
const projectFiles = sum((n) =>
  area(n.callFrame.url) === "this project" ? n.callFrame.url.replace(/.*\/dist\//, "") : "",
);
for (const [file, hits] of projectFiles.filter(([file]) => file !== "").slice(0, 12))
  process.stdout.write(`${pct(hits)}  ${file}\n`);
process.stdout.write("\nhottest functions (self time):\n");
const top = sum(
  (n) =>
    `${n.callFrame.functionName || "(anonymous)"}  ${n.callFrame.url.replace(/.*node_modules\//, "")}:${n.callFrame.lineNumber + 1}`,
);
for (const [name, hits] of top.slice(0, Number(values.top))) process.stdout.write(`${pct(hits)}  ${name}\n`);

// --callers NAME: where the self time of the functions called NAME comes from, by the chain of callers.
if (values.callers) {
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

// --stretches: consecutive samples under the same entry point (the frame below the profile's
// root) make one stretch; the sampler's own start and the thread's idle waits are left out. A
// sample stands for the time until the next one, as DevTools charges it.
if (values.stretches) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const entryOf = (id: number) => {
    let entry = id;
    for (let up = parentOf.get(id); up !== undefined && parentOf.has(up.id); up = parentOf.get(up.id)) entry = up.id;
    return entry;
  };
  const name = (id: number) => label(byId.get(id) as Node);
  const stretches: { entry: number; us: number; samples: number[] }[] = [];
  profile.samples.forEach((id, i) => {
    const entry = entryOf(id);
    const { functionName, url } = (byId.get(entry) as Node).callFrame;
    if (functionName === "(idle)" || /cpu-sampler|measured-window/.test(url)) return;
    const last = stretches.at(-1);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (last?.entry === entry && last.samples.at(-1) === i - 1) {
      last.us += us;
      last.samples.push(i);
    } else stretches.push({ entry, us, samples: [i] });
  });
  const long = stretches.filter((s) => s.us >= 10_000);
  const count = new Map<string, number>();
  for (const s of long) count.set(name(s.entry), (count.get(name(s.entry)) ?? 0) + 1);
  process.stdout.write(`\nstretches of 10 ms or more under one entry point, by entry (${long.length}):\n`);
  for (const [entry, n] of [...count].sort((a, b) => b[1] - a[1]))
    process.stdout.write(`${String(n).padStart(6)}  ${entry}\n`);
  process.stdout.write("\nthe longest stretches:\n");
  for (const s of [...stretches].sort((a, b) => b.us - a.us).slice(0, 10))
    process.stdout.write(`${(s.us / 1000).toFixed(1).padStart(7)} ms  ${name(s.entry)}\n`);
  // What took those stretches' time, beside its share of the thread's busy time in the window.
  const selfIn = (indices: Iterable<number>) => {
    const by = new Map<string, number>();
    let all = 0;
    for (const i of indices) {
      const us = profile.timeDeltas[i + 1] ?? 0;
      const key = name(profile.samples[i]);
      by.set(key, (by.get(key) ?? 0) + us);
      all += us;
    }
    return { by, all };
  };
  const inLong = selfIn(long.flatMap((s) => s.samples));
  const busy = [...profile.samples.keys()].filter((i) => name(profile.samples[i]) !== "(idle)");
  const overall = selfIn(busy);
  const share = (part: number, of: number) => `${((100 * part) / of).toFixed(1).padStart(5)}%`;
  process.stdout.write("\nin those stretches, self time (and its share of the window's busy time):\n");
  for (const [key, us] of [...inLong.by].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
    process.stdout.write(`${share(us, inLong.all)}  (${share(overall.by.get(key) ?? 0, overall.all)})  ${key}\n`);
}

/** Where a profile's frame comes from: a package, Node, V8 itself, or this project. */
function area(url: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith("node:")) return "node core";
  if (url === "") return "(native, gc)";
  return url.includes("/work/") || url.startsWith("file:") ? "this project" : url;
}

interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocationNode[];
}

/**
 * What prints the bytes a sampled heap profile kept, per call (`calls` in its window), by package
 * and by function: `what` they are, and `which` objects the profile kept.
 */
function sampledBytes(what: string, which: string) {
  return (allocations: { head: AllocationNode }, calls: number, unit: string): void => {
    const byPackage = new Map<string, number>();
    const byFunction = new Map<string, number>();
    let total = 0;
    const visit = (n: AllocationNode) => {
      const { functionName, url, lineNumber } = n.callFrame;
      const name = `${functionName || "(anonymous)"}  ${url.replace(/.*node_modules\//, "")}:${lineNumber + 1}`;
      byPackage.set(area(url), (byPackage.get(area(url)) ?? 0) + n.selfSize);
      byFunction.set(name, (byFunction.get(name) ?? 0) + n.selfSize);
      total += n.selfSize;
      for (const child of n.children) visit(child);
    };
    visit(allocations.head);
    const perCall = (bytes: number) =>
      `${Math.round(bytes / calls)
        .toString()
        .padStart(7)} B`;
    process.stdout.write(`${perCall(total).trim()} ${what} per ${unit}, ${which}\n\nby package, per ${unit}:\n`);
    const sorted = (by: Map<string, number>) => [...by].sort((a, b) => b[1] - a[1]);
    for (const [name, bytes] of sorted(byPackage).slice(0, 12)) process.stdout.write(`${perCall(bytes)}  ${name}\n`);
    process.stdout.write(`\nthe functions that made most of it (self), per ${unit}:\n`);
    for (const [name, bytes] of sorted(byFunction).slice(0, Number(values.top)))
      process.stdout.write(`${perCall(bytes)}  ${name}\n`);
  };
}

interface GcProfile {
  statistics: {
    gcType: string;
    /** The collection's pause, µs. */
    cost: number;
    beforeGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
    afterGC: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] };
  }[];
}

/**
 * The collections of a GCProfiler recording, per call: how many of each kind
 * and their pauses, what scavenges promoted (the old generation's growth
 * across each: objects that lived through two of them), and what was
 * allocated outside the young generation directly (its growth from one
 * collection's end to the next one's start).
 */
function printCollections(profile: GcProfile, calls: number, unit: string): void {
  const oldGeneration = (spaces: { spaceName: string; spaceUsedSize: number }[]) =>
    spaces.filter((s) => !s.spaceName.startsWith("new_")).reduce((sum, s) => sum + s.spaceUsedSize, 0);
  const kinds = new Map<string, { count: number; pauseUs: number }>();
  let promoted = 0;
  let allocatedOld = 0;
  let longest = { gcType: "none", cost: 0 };
  let previous: GcProfile["statistics"][number] | undefined;
  for (const gc of profile.statistics) {
    if (gc.cost > longest.cost) longest = gc;
    const kind = kinds.get(gc.gcType) ?? { count: 0, pauseUs: 0 };
    kind.count++;
    kind.pauseUs += gc.cost;
    kinds.set(gc.gcType, kind);
    if (gc.gcType === "Scavenge") {
      promoted += oldGeneration(gc.afterGC.heapSpaceStatistics) - oldGeneration(gc.beforeGC.heapSpaceStatistics);
    }
    if (previous !== undefined) {
      allocatedOld +=
        oldGeneration(gc.beforeGC.heapSpaceStatistics) - oldGeneration(previous.afterGC.heapSpaceStatistics);
    }
    previous = gc;
  }
  process.stdout.write(`\ncollections: count per 10,000 ${unit}s, pause µs per ${unit}\n`);
  for (const [name, { count, pauseUs }] of [...kinds].sort((a, b) => b[1].pauseUs - a[1].pauseUs)) {
    process.stdout.write(
      `${((count * 10_000) / calls).toFixed(1).padStart(8)}  ${(pauseUs / calls).toFixed(2).padStart(7)} µs  ${name}\n`,
    );
  }
  process.stdout.write(`longest pause: ${(longest.cost / 1000).toFixed(1)} ms (${longest.gcType})\n`);
  process.stdout.write(`\npromoted by scavenges: ${Math.round(promoted / calls)} B per ${unit}\n`);
  process.stdout.write(
    `allocated outside the young generation directly, between collections: ${Math.round(allocatedOld / calls)} B per ${unit}\n`,
  );
}

/** What loop-delay-recorder.mjs writes, in ms. */
interface LoopDelay {
  samples: number;
  mean: number;
  max: number;
  p50: number;
  p90: number;
  p99: number;
  /** Each turn of 10 ms or more: when it began and how long it ran. */
  longTurns: Timed[];
  /** Each full collection: when it began and its pause. */
  fullCollections: Timed[];
}

interface Timed {
  at: number;
  ms: number;
}

/**
 * The event loop's delay beside the calls' latency. At one sample a turn at
 * most, the samples count the turns once they run past 1 ms, so calls over
 * samples is about how many calls a turn serves. Then how the slowest calls
 * fall in time (h2load's loads), and the longest turns, marked where one began
 * during a full collection or in the `leadUpMs` before it, while its
 * concurrent marking runs.
 */
function printLoopDelay(delay: LoopDelay, calls: number, unit: string, result: LoadResult): void {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const leadUpMs = 100;
  process.stdout.write(
    `${unit}s: p50 ${ms(result.p50Ms)}, p99 ${ms(result.p99Ms)}\n` +
      `event-loop delay: p50 ${ms(delay.p50)}, p90 ${ms(delay.p90)}, p99 ${ms(delay.p99)}, max ${ms(delay.max)}, mean ${ms(delay.mean)}\n` +
      `${delay.samples} samples, about ${(calls / delay.samples).toFixed(0)} ${unit}s a sample\n`,
  );
  if (result.slowest !== undefined) {
    const { episodes } = result.slowest;
    const largest = episodes
      .slice(0, 5)
      .map((episode) => `${episode.calls} up to ${ms(episode.longestMs)}`)
      .join(", ");
    process.stdout.write(
      `the slowest 1% (${result.slowest.calls} ${unit}s) ended in ${episodes.length} episodes ` +
        `(${episodeGapMs} ms apart or more); the largest, ${unit}s and their longest: ${largest}\n`,
    );
  }
  const nearCollection = (turn: Timed) =>
    delay.fullCollections.some((gc) => turn.at >= gc.at - leadUpMs && turn.at <= gc.at + gc.ms);
  const longest = [...delay.longTurns]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 8)
    .map((turn) => `${ms(turn.ms)}${nearCollection(turn) ? " (full collection)" : ""}`)
    .join(", ");
  process.stdout.write(
    `turns of 10 ms or more: ${delay.longTurns.length}; the longest, marked where one began during a full collection ` +
      `or in the ${leadUpMs} ms before one: ${longest}\n` +
      `full collections: ${delay.fullCollections.length}, the longest pause ${ms(Math.max(0, ...delay.fullCollections.map((gc) => gc.ms)))}\n`,
  );
}

/** What memory-recorder.mjs writes, in bytes. */
interface MemoryPeak {
  highest: number;
  peak: {
    rss: number;
    nodeBinary: number;
    otherFiles: number;
    mallocHeap: number;
    otherAnonymous: number;
    heapPhysical: number;
    spaces: Record<string, { size: number; used: number }>;
    malloced: number;
    peakMalloced: number;
    external: number;
  };
}

/** The memory at the highest RSS, by where it lives; V8's heap is part of the anonymous memory. */
function printMemory({ highest, peak }: MemoryPeak): void {
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const spaces = Object.entries(peak.spaces)
    .sort((a, b) => b[1].size - a[1].size)
    .map(([name, { size, used }]) => `${name} ${mb(size)} (${mb(used)} in use)`)
    .join(", ");
  process.stdout.write(
    `highest RSS ${mb(highest)}; at ${mb(peak.rss)} (read within 1 MB of it), by mapping:\n` +
      `  the node binary's pages ${mb(peak.nodeBinary)}, other files ${mb(peak.otherFiles)}\n` +
      `  malloc's main heap ${mb(peak.mallocHeap)}\n` +
      `  other anonymous memory ${mb(peak.otherAnonymous)}, of it V8's heap ${mb(peak.heapPhysical)}, ` +
      `the rest ${mb(peak.otherAnonymous - peak.heapPhysical)} (other malloc arenas, thread stacks, ...)\n` +
      `V8's heap by space, held: ${spaces}\n` +
      `V8's own malloc: ${mb(peak.malloced)} then, ${mb(peak.peakMalloced)} at most before; ` +
      `memory outside the heap that V8 counts (buffers): ${mb(peak.external)}\n`,
  );
}

/** What count-recorder.mjs writes: totals over the measured window. */
interface Counts {
  nextTicks: number;
  promises: number;
  listenersAdded: number;
  listenersRemoved: number;
}

function printCounts(counts: Counts, calls: number, unit: string): void {
  const per = (total: number) => (total / calls).toFixed(2).padStart(8);
  process.stdout.write(
    `
per ${unit}:
${per(counts.nextTicks)}  process.nextTick calls
${per(counts.promises)}  promises made, with V8's promise hooks on
${per(counts.listenersAdded)}  listeners added
${per(counts.listenersRemoved)}  listeners taken off one by one
`,
  );
}
