import { mkdirSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { loadConfig } from "../server/config.js";
import { startNodeFlags } from "../testkit/built-server.js";
import { answerCodes, errorsBetween } from "./answer-codes.js";
import { buildBaseline } from "./baseline.js";
import { refuse, rpsOf } from "./cli-options.js";
import { type AwakeCpus, describeCpuIdle, haltsDuring, keepCpusAwakeUnless } from "./cpu-idle.js";
import { type IdleMemory, idleConnections, measureFresh, restMsFor } from "./idle.js";
import { fellShort, offeredRate, runLoad, takesRate, wholeLoadCalls } from "./load.js";
import { nodeVersion, resolveNode } from "./node-binary.js";
import { probe } from "./probe.js";
import { sampleRss, treeRss } from "./process-usage.js";
import { formatTable, median, type Row, renderSvg, type SavedRun } from "./report.js";
import { envFromPairs, peerSpecs, type ServerSpec, type StartedServer, startServer } from "./servers.js";
import { describeSource, sourceState } from "./source-state.js";
import { type Workload, workloads } from "./workloads.js";

const usage = `npm run bench -- [options]
  --seconds N        measured seconds per run (default 5; plus 1 s warm-up)
  --rounds N         interleaved rounds; the table shows medians (default 3)
  --workload ID      only this workload (repeatable): ${workloads.map((w) => w.id).join(", ")}
  --node V|PATH      run the servers on Node major V from the npm registry (cached), or this binary
  --workers N        also run our server with WORKERS=N
  --connections N    h2load connections (default 16; some workloads set their own)
  --streams N        concurrent streams per HTTP/2 connection (default 16; likewise)
  --rps N            each connection sends N calls a second (h2load's --rps) rather than as many as
                     the server answers: the CPU ratios then compare cost per call at the same load
                     (h2load workloads only)
  --no-compare-off   skip our server with FAST_PATH=off
  --against REV      also our server as built at git revision REV, with its own npm start
                     flags, as one more peer (repeatable): a change measured build against build
  --env K=V          extra environment for our server and the --against builds (repeatable),
                     e.g. LOG_LEVEL=warn
  --node-flag F      a Node flag for every server (repeatable), e.g. --max-semi-space-size=32
  --our-node-flag F  a Node flag for our server and the --against builds, not the peers, after
                     npm start's (repeatable), e.g. --heap-growing-percent=25; to compare a flag,
                     commit it to npm start's and measure that commit with --against
  --idle-cpus        let the CPUs halt when idle during the loads, as the machine sets them, rather
                     than keep them polling (a wake-up latency of 0 through /dev/cpu_dma_latency)
  --server-cpus L    the CPUs each server may run on, as taskset lists them (default 0; the
                     WORKERS server keeps 0-1); the load runs on cpu 1 whatever this says, so
                     0-1 shares a core with it
  --out DIR          where the JSON and SVG go (default bench/results)`;

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    workload: { type: "string", multiple: true },
    node: { type: "string" },
    workers: { type: "string" },
    connections: { type: "string", default: "16" },
    streams: { type: "string", default: "16" },
    rps: { type: "string" },
    "no-compare-off": { type: "boolean", default: false },
    against: { type: "string", multiple: true, default: [] },
    env: { type: "string", multiple: true, default: [] },
    "node-flag": { type: "string", multiple: true, default: [] },
    "our-node-flag": { type: "string", multiple: true, default: [] },
    "server-cpus": { type: "string", default: "0" },
    "idle-cpus": { type: "boolean", default: false },
    out: { type: "string", default: "bench/results" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const serverCpus = values["server-cpus"];
const loadCpu = 1;
if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(serverCpus))
  refuse("--server-cpus", `takes a CPU list as taskset does (0, 0-1, 0,2), not ${JSON.stringify(serverCpus)}`);
const placement =
  serverCpus === "0" ? "server on 1 core, load on the other" : `servers on cpus ${serverCpus}, load on cpu ${loadCpu}`;
const ratePerConnection = rpsOf(values.rps);
const named = workloads.filter((w) => !values.workload || values.workload.includes(w.id));
// Paced, every load but those whose driver takes no rate; naming one of those is a mistake.
const unpaced = ratePerConnection === undefined ? [] : named.filter((w) => !takesRate(w)).map((w) => w.id);
if (values.workload && unpaced.length > 0)
  refuse("--rps", `needs h2load workloads; these run their own driver: ${unpaced.join(", ")}`);
const chosen = named.filter((w) => !unpaced.includes(w.id));
const node = resolveNode(values.node);
const version = nodeVersion(node);
// Read before the servers start: the tree may change while the run goes.
const source = sourceState();

// Our server as a user runs it (npm start's Node flags, default settings, one log line per call), and peers.
const extraEnv = envFromPairs(values.env);
// The idle servers rest until ours has trimmed, as the environment given sets it.
const restMs = restMsFor(loadConfig(extraEnv).idleTrimMs);
const ourFlags = values["our-node-flag"];
const oursBase = { script: "server/main.ts", nodeFlags: ourFlags };
const ours: ServerSpec[] = [
  { ...oursBase, name: "simpletest", env: extraEnv },
  ...(values["no-compare-off"]
    ? []
    : [{ ...oursBase, name: "simpletest FAST_PATH=off", env: { ...extraEnv, FAST_PATH: "off" } }]),
  ...(values.workers
    ? [
        {
          ...oursBase,
          name: `simpletest WORKERS=${values.workers}`,
          env: { ...extraEnv, WORKERS: values.workers },
          // Workers need cores of their own; on a 2-core machine they share them with the load generator.
          cpus: "0-1",
        },
      ]
    : []),
];
const baselines: ServerSpec[] = values.against.map((revision) => {
  const { name, root } = buildBaseline(revision);
  return { ...oursBase, name, root, env: extraEnv };
});
const peersOf = (workload: Workload) => [...workload.peers, ...baselines.map((b) => b.name)];
const peerNames = [...new Set(chosen.flatMap(peersOf))];

const pace =
  ratePerConnection === undefined
    ? undefined
    : `each connection sending ${ratePerConnection} calls a second${unpaced.length > 0 ? ` (${unpaced.join(", ")}, whose driver takes no rate, left out)` : ""}`;
process.stderr.write(`node ${version}; ${rounds} rounds × ${seconds} s; ${placement}${pace ? `; ${pace}` : ""}\n`);
const servers = new Map<string, StartedServer>();
// Held from the first load to the end of the run, after the idle measurements, which stay as they were.
let awake: AwakeCpus | undefined;
// The load's CPU's halts over the loads, and about the calls they served (warm-up too).
let loadHalts: number | undefined = 0;
let loadCalls = 0;
const stopAll = async () => {
  await Promise.all([...servers.values()].map((s) => s.stop()));
};
process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));

interface Sample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  rss: number;
  cpuUsPerCall: number;
}
const samples = new Map<string, Sample[]>();
const key = (workload: string, server: string) => `${workload}\t${server}`;
// Fresh servers with no connection and with idle connections, then at rest: ours against grpc-js.
const idleOf = ["simpletest", ...peerNames.filter((p) => p === "grpc-js"), ...baselines.map((b) => b.name)];
const idle = new Map<string, IdleMemory>();
const idleCall = workloads[0];

const specOf = (name: string) =>
  ours.find((s) => s.name === name) ?? baselines.find((s) => s.name === name) ?? peerSpecs[name];
const start = async (names: readonly string[]) => {
  for (const name of names) servers.set(name, await startServer(specOf(name), node, values["node-flag"], serverCpus));
};
const stopStarted = async () => {
  await stopAll();
  servers.clear();
};

try {
  await start(idleOf);
  const fresh = new Map<string, Omit<IdleMemory, "restRss">>();
  for (const name of idleOf) {
    const server = servers.get(name) as StartedServer;
    fresh.set(name, await measureFresh(server.url, server.pid, idleCall));
  }
  process.stderr.write(`idle: resting ${restMs / 1000} s\n`);
  await sleep(restMs);
  for (const [name, memory] of fresh) {
    idle.set(name, { ...memory, restRss: treeRss((servers.get(name) as StartedServer).pid) });
  }
  await stopStarted();
  awake = keepCpusAwakeUnless(values["idle-cpus"]);
  // Fresh servers for each workload, so that its RSS is its own and not what an earlier load left.
  for (const workload of chosen) {
    const names = [...ours.map((s) => s.name), ...peersOf(workload)];
    await start(names);
    for (const name of names) await check(workload, servers.get(name) as StartedServer);
    for (let round = 0; round < rounds; round++) {
      // Interleaved, and in a different order each round, so that drift on a shared machine hits everyone alike.
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const name of order) {
        const server = servers.get(name) as StartedServer;
        // Our builds count their answers by code; a peer's errors show as failed requests.
        const ourBuild = ours.some((s) => s.name === name) || baselines.some((s) => s.name === name);
        const codesBefore = ourBuild ? await answerCodes(server.url) : undefined;
        const peak = sampleRss(server.pid);
        const shape = {
          url: server.url,
          connections: Number(values.connections),
          streams: Number(values.streams),
          seconds,
          cpu: loadCpu,
          serverPid: server.pid,
          ratePerConnection,
        };
        const { result, halts } = await haltsDuring([loadCpu], () => runLoad(workload, shape));
        loadHalts = loadHalts === undefined || halts[0] === undefined ? undefined : loadHalts + halts[0];
        loadCalls += wholeLoadCalls(result, seconds);
        const rss = peak();
        if (result.failed > 0) throw new Error(`${name} failed ${result.failed} requests on ${workload.id}`);
        if (codesBefore !== undefined) {
          const errors = errorsBetween(codesBefore, await answerCodes(server.url));
          if (errors.size > 0) throw new Error(`${name} answered errors on ${workload.id}: ${[...errors].join(", ")}`);
        }
        samples.set(key(workload.id, name), [
          ...(samples.get(key(workload.id, name)) ?? []),
          { ...result, rss, cpuUsPerCall: (result.serverCpuSeconds / (result.rps * seconds)) * 1e6 },
        ]);
        process.stderr.write(`round ${round + 1} ${workload.id} ${name}: ${result.rps.toFixed(0)}/s\n`);
        const offered = offeredRate(workload, shape);
        if (fellShort(result, offered)) {
          process.stderr.write(
            `  warning: ${name} answered ${result.rps.toFixed(0)} of the ${offered} calls a second offered: it ran at its saturation, not at that load; give --rps less\n`,
          );
        }
        // h2load starts every stream at once and a fair server finishes them together: calls end in
        // batches, and a run only a few calls long counts one batch more or less (step 31).
        if (offered === undefined && result.p50Ms > (seconds * 1000) / 10) {
          process.stderr.write(
            `  warning: ${name}'s p50 (${result.p50Ms.toFixed(0)} ms) is over a tenth of the run: its req/s counts whole batches of calls; give ${workload.id} fewer streams or more --seconds\n`,
          );
        }
      }
    }
    await stopStarted();
  }
} finally {
  awake?.release();
  await stopAll();
}

const rows: Row[] = chosen.flatMap((workload) =>
  [...ours.map((s) => s.name), ...peersOf(workload)].map((name) => {
    const mine = samples.get(key(workload.id, name)) ?? [];
    const isOurs = ours.some((s) => s.name === name);
    const ratios: Record<string, number> = {};
    const roundRatios: Record<string, number[]> = {};
    const cpuRatios: Record<string, number> = {};
    if (isOurs) {
      for (const peer of peersOf(workload)) {
        const theirs = samples.get(key(workload.id, peer)) ?? [];
        roundRatios[peer] = mine.map((s, i) => s.rps / theirs[i].rps);
        ratios[peer] = median(roundRatios[peer]);
        cpuRatios[peer] = median(mine.map((s, i) => theirs[i].cpuUsPerCall / s.cpuUsPerCall));
      }
    }
    return {
      workload: workload.id,
      title: workload.title,
      server: name,
      ours: isOurs,
      rps: median(mine.map((s) => s.rps)),
      p50Ms: median(mine.map((s) => s.p50Ms)),
      p99Ms: median(mine.map((s) => s.p99Ms)),
      roundP99Ms: mine.map((s) => s.p99Ms),
      rssMb: median(mine.map((s) => s.rss)) / 2 ** 20,
      cpuUsPerCall: median(mine.map((s) => s.cpuUsPerCall)),
      ratios,
      roundRatios,
      cpuRatios,
    };
  }),
);

const ourNodeFlags = [...startNodeFlags(), ...ourFlags].join(" ");
const flags = [
  ...values.env,
  ...values["node-flag"],
  ...(ourNodeFlags ? [`ours: ${ourNodeFlags}`] : []),
  ...baselines.map((b) => `${b.name}: ${[...startNodeFlags(b.root), ...ourFlags].join(" ")}`),
].join(" ");
const cpuIdle = describeCpuIdle(awake, loadHalts === undefined ? undefined : loadHalts / loadCalls);
const setting = `Node ${version}${flags ? ` (${flags})` : ""}, ${describeSource(source)}, ${rounds} rounds × ${seconds} s, ${values.connections} connections × ${values.streams} streams unless the workload says${pace ? `, ${pace}` : ""}, ${placement}, ${cpuIdle}, our log read by another process`;
const table = formatTable(rows, peerNames);
const idleTable = formatIdle(idle);
process.stdout.write(`\n${setting}\n\n${table}\n\n${idleTable}\n`);
mkdirSync(values.out, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const saved: SavedRun = {
  node: version,
  date: new Date().toISOString(),
  source,
  setting,
  rows,
  idle: Object.fromEntries(idle),
};
const json = JSON.stringify(saved, null, 2);
writeFileSync(`${values.out}/bench-${stamp}.json`, json);
writeFileSync(`${values.out}/latest.json`, json);
writeFileSync(`${values.out}/latest.md`, `${setting}\n\n${table}\n\n${idleTable}\n`);
writeFileSync(`${values.out}/latest.svg`, renderSvg(rows, setting, ratePerConnection === undefined ? "rps" : "cpu"));
process.stdout.write(`\nwrote ${values.out}/latest.json, latest.md and latest.svg\n`);

function formatIdle(measured: ReadonlyMap<string, IdleMemory>): string {
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const kb = (bytes: number) => (bytes / 1024).toFixed(1);
  return [
    `| server | idle RSS MB, fresh | RSS per idle HTTP/2 connection KB, the first ${idleConnections} | the same, ${idleConnections} more | idle RSS MB, at rest (${restMs / 1000} s on) |`,
    "|---|--:|--:|--:|--:|",
    ...[...measured].map(
      ([name, m]) =>
        `| ${name} | ${mb(m.idleRss)} | ${kb(m.perConnection)} | ${kb(m.perFurtherConnection)} | ${mb(m.restRss)} |`,
    ),
  ].join("\n");
}

async function check(workload: Workload, server: StartedServer): Promise<void> {
  const answer = await probe({ url: server.url + workload.path, ...workload });
  const grpcOk = answer.grpcStatus === undefined || answer.grpcStatus === "0";
  if (answer.status !== 200 || !grpcOk || !workload.expect(answer.body)) {
    throw new Error(
      `${server.spec.name} answered ${workload.id} wrongly: HTTP ${answer.status}, grpc-status ${answer.grpcStatus}, ${JSON.stringify(answer.body.toString())}`,
    );
  }
}
