import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAcrossRuns } from "./across-runs-report.js";
import { median, type Row, type SavedRun } from "./report.js";

const flags = "Node v24.22.3 (ours: --max-semi-space-size=8)";

/** Our row and the peer's on one workload, ours ÷ the peer at `rounds` ratios (and ÷ bare http2 at `toBare`). */
function rowsOf(
  workload: string,
  peer: string,
  rounds: readonly number[],
  more: { rssMb?: number; toBare?: readonly number[] } = {},
): Row[] {
  const common = { workload, title: workload, p50Ms: 1, roundP99Ms: rounds.map(() => 10), cpuUsPerCall: 30 };
  const roundRatios: Record<string, readonly number[]> = { [peer]: rounds };
  if (more.toBare) roundRatios["bare-http2"] = more.toBare;
  const ratios = Object.fromEntries(Object.entries(roundRatios).map(([name, each]) => [name, median(each)]));
  const theirs = { ...common, ours: false, rps: 1000, p99Ms: 9, rssMb: 90, ratios: {}, roundRatios: {}, cpuRatios: {} };
  return [
    {
      ...common,
      server: "simpletest",
      ours: true,
      rps: 1000,
      p99Ms: 12,
      rssMb: more.rssMb ?? 100,
      ratios,
      roundRatios,
      cpuRatios: { [peer]: 1 },
    },
    { ...theirs, server: peer },
    ...(more.toBare ? [{ ...theirs, server: "bare-http2" }] : []),
  ];
}

/** A run of `rows` at `commit`, whose setting line says it as `npm run bench` does. */
function run(
  rows: Row[],
  { commit = "0123456789abcdef", dirty = false, rounds = 5, idling = "CPUs kept awake during the loads" } = {},
): SavedRun {
  return {
    node: "v24.22.3",
    date: "2026-12-07T19:00:00.000Z",
    source: { commit, dirty },
    setting: `${flags}, ours at ${commit.slice(0, 7)}${dirty ? " and changes not committed" : ""}, ${rounds} rounds × 3 s, server on 1 core, load on the other, ${idling}, the load's CPU halting 0.00${rounds} times a call`,
    rows,
    idle: { simpletest: { idleRss: 80 * 2 ** 20, perConnection: 48 * 1024, restRss: 85 * 2 ** 20 } },
  };
}

/** The cells of the line for `name` in the report's first table that has one or, `1`, its second. */
function line(report: string, name: string, table: 0 | 1 = 0): string[] {
  const found = report.split("\n").filter((l) => l.startsWith(`| ${name} |`))[table];
  assert.ok(found, `no line for ${name}`);
  return found.slice(2, -2).split(" | ");
}

describe("formatAcrossRuns", () => {
  it("puts each run's median beside the median of the runs, and counts the runs that met the target", () => {
    const report = formatAcrossRuns([
      run(rowsOf("grpc-unary", "grpc-js", [1.1, 1.3, 1.25])),
      run(rowsOf("grpc-unary", "grpc-js", [0.9, 1.0, 0.98])),
      run(rowsOf("grpc-unary", "grpc-js", [1.19, 1.2, 1.21])),
    ]);
    assert.deepEqual(line(report, "grpc-unary").slice(0, 9), [
      "grpc-unary",
      "grpc-js",
      "≥ 1.2",
      "1.25 (1.10–1.30)",
      "0.98 (0.90–1.00)",
      "1.20 (1.19–1.21)",
      "1.20",
      "2 of 3",
      "1.19 (0.90–1.30)",
    ]);
  });

  it("gives bare http2's ratio to the same peer round by round from our row, and a dash in a run without it", () => {
    const report = formatAcrossRuns([
      run(rowsOf("grpc-unary-c64m4", "grpc-js", [1.0])),
      run(rowsOf("grpc-unary-c64m4", "grpc-js", [0.9, 1.2, 1.0], { toBare: [0.6, 0.8, 0.5] })),
    ]);
    // Per round: 0.9 / 0.6 = 1.5, 1.2 / 0.8 = 1.5, 1.0 / 0.5 = 2.0: the median 1.50.
    assert.equal(line(report, "grpc-unary-c64m4").at(-1), "–, 1.50");
  });

  it("leaves a load out of a run that did not run it, in its cell and its count", () => {
    const report = formatAcrossRuns([
      run([...rowsOf("grpc-unary", "grpc-js", [1.3]), ...rowsOf("connect-json-h1", "bare-fastify", [0.79])]),
      run(rowsOf("connect-json-h1", "bare-fastify", [0.81])),
    ]);
    assert.deepEqual(line(report, "grpc-unary").slice(3, 7), ["1.30 (1.30–1.30)", "–", "1.30", "1 of 1"]);
    assert.deepEqual(line(report, "connect-json-h1").slice(6, 9), ["1 of 2", "0.80 (0.79–0.81)", ""]);
    assert.equal(line(report, "grpc-unary", 1).at(-1), "100.0, – (0 of 1)");
  });

  it("counts the runs whose RSS under a load went over 150 MB, and no run at 150 MB itself", () => {
    const report = formatAcrossRuns([
      run(rowsOf("grpc-unary-64k", "grpc-js", [1], { rssMb: 150.1 })),
      run(rowsOf("grpc-unary-64k", "grpc-js", [1], { rssMb: 149.8 })),
      run(rowsOf("grpc-unary-64k", "grpc-js", [1], { rssMb: 150 })),
    ]);
    const cells = line(report, "grpc-unary-64k", 1);
    assert.equal(cells.at(-1), "150.1, 149.8, 150.0 (1 of 3)");
    assert.equal(cells[1], "12.0 / 9.0 (grpc-js)");
  });

  it("gives the idle figures run by run, a dash for the further connections in a run before step 75", () => {
    const newer = run([]);
    const report = formatAcrossRuns([
      run([]),
      {
        ...newer,
        idle: {
          simpletest: {
            idleRss: 79 * 2 ** 20,
            perConnection: 47 * 1024,
            perFurtherConnection: 30 * 1024,
            restRss: 86 * 2 ** 20,
          },
        },
      },
    ]);
    assert.deepEqual(line(report, "simpletest"), ["simpletest", "80.0, 79.0", "48.0, 47.0", "–, 30.0", "85.0, 86.0"]);
  });

  it("counts a run against its target before rounding: 1.197 reads 1.20 and is short of 1.2", () => {
    const report = formatAcrossRuns([run(rowsOf("grpc-unary", "grpc-js", [1.197]))]);
    assert.deepEqual(line(report, "grpc-unary").slice(3, 6), ["1.20 (1.20–1.20)", "1.20", "0 of 1"]);
  });

  it("pools runs of other builds and round counts, and names each run's build", () => {
    const report = formatAcrossRuns([run([]), run([], { commit: "89abcdef01234567", dirty: true, rounds: 3 })]);
    assert.deepEqual(line(report, "2"), ["2", "2026-12-07 19:00", "89abcde (uncommitted changes)", "0"]);
  });

  it("refuses runs whose servers or loads ran differently, or at a set rate", () => {
    const differ = (other: SavedRun) => () => formatAcrossRuns([run([]), other]);
    assert.throws(
      differ({ ...run([]), setting: run([]).setting.replace("v24.22.3", "v26.12.1") }),
      /^Error: these runs' servers ran differently, not one population:\nNode v24\.22\.3 .*\nNode v26\.12\.1 /,
    );
    assert.throws(
      differ(run([], { idling: "CPUs free to halt when idle" })),
      /^Error: these runs' servers ran differently/,
    );
    assert.throws(
      () =>
        formatAcrossRuns([{ ...run([]), setting: `${run([]).setting}, each connection sending 600 calls a second` }]),
      /^Error: a run at a set rate compares CPU, not calls\/s/,
    );
  });
});
