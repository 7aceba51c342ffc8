import { idleConnections } from "./idle.js";
import { median, type Row, type SavedRun, spanOf } from "./report.js";
import { describeSource } from "./source-state.js";
import { rssBoundMb, type Workload, workloads } from "./workloads.js";

const fixed = (value: number, digits = 2) => value.toFixed(digits);
const row = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
/** A Markdown table rule: text columns left, figures right. */
const rule = (count: number, textColumns: number) =>
  row(Array.from({ length: count }, (_, i) => (i < textColumns ? "---" : "--:")));

/**
 * What a run's setting says of how its servers and loads ran, less what may
 * differ between runs pooled: which build of ours, how many rounds, and how
 * often the load's CPU halted (a reading, not a choice).
 */
const howServersRan = (run: SavedRun) =>
  run.setting
    .replace(describeSource(run.source), "ours")
    .replace(/\d+ rounds × /, "")
    .replace(/, the load's CPU halting [\d.]+ times a call/, "");

/**
 * Issue 13's targets, then the p99s and peaks, then the idle memory, run by
 * run, in Markdown, for `runs` whose servers and loads ran alike (one Node,
 * the same flags, cores, connections, seconds and CPU idling, as many calls
 * as they answer); throws for runs that differ so.
 */
export function formatAcrossRuns(runs: readonly SavedRun[]): string {
  const settings = new Set(runs.map(howServersRan));
  if (settings.size !== 1) {
    throw new Error(`these runs' servers ran differently, not one population:\n${[...settings].join("\n")}`);
  }
  const paced = runs.find((run) => run.setting.includes("calls a second"));
  // Under --rps every server answers the same calls: calls/s ratios are ~1.00 by construction.
  if (paced) throw new Error(`a run at a set rate compares CPU, not calls/s: ${paced.date}`);
  const workloadsRun = workloads.filter((workload) => runs.some((run) => ourRow(run, workload.id)));
  return [
    `Node ${runs[0]?.node}, ${runs.length} runs`,
    runsTable(runs),
    "Ours ÷ the peer, calls (or messages) a second: each run's median over its rounds (its rounds' range), counted against issue 13's targets before rounding",
    targetsTable(runs, workloadsRun),
    "Latency and memory under each load: p99 the median of each run's rounds",
    loadsTable(runs, workloadsRun),
    "Idle",
    idleTable(runs),
  ].join("\n\n");
}

const rowOf = (run: SavedRun, workload: string, server: string) =>
  run.rows.find((r) => r.workload === workload && r.server === server);
const ourRow = (run: SavedRun, workload: string) => rowOf(run, workload, "simpletest");
const runHeads = (runs: readonly SavedRun[]) => runs.map((_, i) => `run ${i + 1}`);

function runsTable(runs: readonly SavedRun[]): string {
  return [
    row(["run", "date (UTC)", "source", "rounds"]),
    rule(4, 3),
    ...runs.map((run, i) => {
      const rounds = Math.max(0, ...run.rows.map((r) => r.roundP99Ms.length));
      const source = `${run.source.commit?.slice(0, 7) ?? "no commit"}${run.source.dirty ? " (uncommitted changes)" : ""}`;
      return row([String(i + 1), run.date.slice(0, 16).replace("T", " "), source, String(rounds)]);
    }),
  ].join("\n");
}

function targetsTable(runs: readonly SavedRun[], workloadsRun: readonly Workload[]): string {
  const lines = [
    row([
      "workload",
      "÷",
      "target",
      ...runHeads(runs),
      "median of runs",
      "runs met",
      "all rounds pooled (a run of more rounds weighs more): median (range)",
      "bare http2 ÷ the same peer, by run",
    ]),
    rule(runs.length + 7, 2),
  ];
  for (const workload of workloadsRun) {
    const target = workload.target;
    if (!target) continue;
    const ourRows = runs.map((run) => ourRow(run, workload.id));
    const runMedians = ourRows.flatMap((r) => {
      const ratio = r?.ratios[target.peer];
      return ratio === undefined ? [] : [ratio];
    });
    if (runMedians.length === 0) continue;
    const pooledRounds = ourRows.flatMap((r) => r?.roundRatios[target.peer] ?? []);
    lines.push(
      row([
        workload.id,
        target.peer,
        `≥ ${target.ratio}`,
        ...ourRows.map((r) => {
          const ratio = r?.ratios[target.peer];
          return ratio === undefined ? "–" : `${fixed(ratio)} (${spanOf(r?.roundRatios[target.peer] ?? [])})`;
        }),
        fixed(median(runMedians)),
        `${runMedians.filter((m) => m >= target.ratio).length} of ${runMedians.length}`,
        `${fixed(median(pooledRounds))} (${spanOf(pooledRounds)})`,
        // What a server that only answers reaches against the same peer: how far the target is from Node's own ceiling.
        workload.peers.includes("bare-http2") && target.peer !== "bare-http2"
          ? ourRows.map((r) => bareOverPeer(r, target.peer)).join(", ")
          : "",
      ]),
    );
  }
  return lines.join("\n");
}

function loadsTable(runs: readonly SavedRun[], workloadsRun: readonly Workload[]): string {
  const lines = [
    row([
      "workload",
      ...runHeads(runs).map((h) => `${h}: p99 ms, ours / peer`),
      `RSS MB by run, the median of its rounds' peaks (over ${rssBoundMb} in)`,
    ]),
    rule(runs.length + 2, 1),
  ];
  for (const workload of workloadsRun) {
    const peer = workload.target?.peer ?? workload.peers[0];
    const ourRows = runs.map((run) => ourRow(run, workload.id));
    const peaks = ourRows.flatMap((r) => (r === undefined ? [] : [r.rssMb]));
    lines.push(
      row([
        workload.id,
        ...runs.map((run, i) => {
          const theirs = rowOf(run, workload.id, peer);
          const ours = ourRows[i];
          return ours === undefined || theirs === undefined
            ? "–"
            : `${fixed(ours.p99Ms, 1)} / ${fixed(theirs.p99Ms, 1)} (${peer})`;
        }),
        `${ourRows.map((r) => (r === undefined ? "–" : fixed(r.rssMb, 1))).join(", ")} (${peaks.filter((mb) => mb > rssBoundMb).length} of ${peaks.length})`,
      ]),
    );
  }
  return lines.join("\n");
}

function idleTable(runs: readonly SavedRun[]): string {
  const servers = [...new Set(runs.flatMap((run) => Object.keys(run.idle)))];
  const byRun = (server: string, pick: (m: SavedRun["idle"][string]) => number | undefined, unit: number) =>
    runs
      .map((run) => {
        const value = run.idle[server] && pick(run.idle[server]);
        return value === undefined ? "–" : fixed(value / unit, 1);
      })
      .join(", ");
  return [
    row([
      "server",
      "fresh MB by run",
      `KB per idle connection by run, the first ${idleConnections}`,
      `the same, ${idleConnections} more (from step 75)`,
      "at rest MB by run",
    ]),
    rule(5, 1),
    ...servers.map((server) =>
      row([
        server,
        byRun(server, (m) => m.idleRss, 2 ** 20),
        byRun(server, (m) => m.perConnection, 1024),
        byRun(server, (m) => m.perFurtherConnection, 1024),
        byRun(server, (m) => m.restRss, 2 ** 20),
      ]),
    ),
  ].join("\n");
}

/** Bare http2 ÷ `peer` in a run: the median over its rounds of (ours ÷ peer) ÷ (ours ÷ bare http2), both from our row. */
function bareOverPeer(ours: Row | undefined, peer: string): string {
  const toPeer = ours?.roundRatios[peer];
  const toBare = ours?.roundRatios["bare-http2"];
  if (!toPeer || !toBare) return "–";
  return fixed(median(toPeer.map((ratio, i) => ratio / toBare[i])));
}
