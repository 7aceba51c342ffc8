import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAcrossRuns, type Row, type SavedRun } from "./report.js";

/** Our row and the peer's on one workload, with ours ÷ the peer at `rounds` ratios. */
function rowsOf(workload: string, peer: string, rounds: readonly number[], rssMb = 100): Row[] {
  const common = { workload, title: workload, p50Ms: 1, roundP99Ms: rounds.map(() => 10), cpuUsPerCall: 30 };
  const sorted = [...rounds].sort((a, b) => a - b);
  return [
    {
      ...common,
      server: "simpletest",
      ours: true,
      rps: 1000,
      p99Ms: 12,
      rssMb,
      ratios: { [peer]: sorted[sorted.length >> 1] },
      roundRatios: { [peer]: rounds },
      cpuRatios: { [peer]: 1 },
    },
    {
      ...common,
      server: peer,
      ours: false,
      rps: 1000,
      p99Ms: 9,
      rssMb: 90,
      ratios: {},
      roundRatios: {},
      cpuRatios: {},
    },
  ];
}

function run(rows: Row[], node = "v24.22.3"): SavedRun {
  return {
    node,
    date: "2026-12-07T19:00:00.000Z",
    source: { commit: "0123456789abcdef", dirty: false },
    setting: "",
    rows,
    idle: { simpletest: { idleRss: 80 * 2 ** 20, perConnection: 48 * 1024, restRss: 85 * 2 ** 20 } },
  };
}

/** The cells of `workload`'s line in the report's first table of loads (targets) or, `1`, its second (latency and memory). */
function line(report: string, workload: string, table: 0 | 1 = 0): string[] {
  const found = report.split("\n").filter((l) => l.startsWith(`| ${workload} |`))[table];
  assert.ok(found, `no line for ${workload}`);
  return found.slice(2, -2).split(" | ");
}

describe("formatAcrossRuns", () => {
  it("puts each run's median beside the median of the runs, counts the runs that met the target, and gives bare http2's ceiling", () => {
    const [ours] = rowsOf("grpc-unary", "grpc-js", []);
    const bare: Row = { ...ours, server: "bare-http2", ours: false, rps: 1500, ratios: {}, roundRatios: {} };
    const report = formatAcrossRuns([
      run([...rowsOf("grpc-unary", "grpc-js", [1.1, 1.3, 1.25]), bare]),
      run(rowsOf("grpc-unary", "grpc-js", [0.9, 1.0, 0.98])),
      run(rowsOf("grpc-unary", "grpc-js", [1.19, 1.2, 1.21])),
    ]);
    assert.deepEqual(line(report, "grpc-unary"), [
      "grpc-unary",
      "grpc-js",
      "≥ 1.2",
      "1.25 (1.10–1.30)",
      "0.98 (0.90–1.00)",
      "1.20 (1.19–1.21)",
      "1.20",
      "2 of 3",
      "1.19 (0.90–1.30)",
      "1.50",
    ]);
  });

  it("leaves a load out of a run that did not run it, in its cell and its count", () => {
    const report = formatAcrossRuns([
      run([...rowsOf("grpc-unary", "grpc-js", [1.3]), ...rowsOf("connect-json-h1", "bare-fastify", [0.79])]),
      run(rowsOf("connect-json-h1", "bare-fastify", [0.81])),
    ]);
    assert.deepEqual(line(report, "grpc-unary").slice(3), [
      "1.30 (1.30–1.30)",
      "",
      "1.30",
      "1 of 1",
      "1.30 (1.30–1.30)",
      "",
    ]);
    assert.deepEqual(line(report, "connect-json-h1").slice(6), ["1 of 2", "0.80 (0.79–0.81)", ""]);
  });

  it("counts the runs whose RSS under a load went over 150 MB", () => {
    const report = formatAcrossRuns([
      run(rowsOf("grpc-unary-64k", "grpc-js", [1], 151)),
      run(rowsOf("grpc-unary-64k", "grpc-js", [1], 149)),
    ]);
    const cells = line(report, "grpc-unary-64k", 1);
    assert.equal(cells.at(-1), "151, 149 (1 of 2)");
    assert.equal(cells[1], "12.0 / 9.0 (grpc-js)");
  });

  it("gives the idle figures run by run, a dash where a run before step 75 has no RSS with the connections", () => {
    const older = run([]);
    const newer = {
      ...run([]),
      idle: {
        simpletest: {
          idleRss: 79 * 2 ** 20,
          withConnectionsRss: 88 * 2 ** 20,
          perConnection: 30 * 1024,
          restRss: 86 * 2 ** 20,
        },
      },
    };
    assert.deepEqual(line(formatAcrossRuns([older, newer]), "simpletest"), [
      "simpletest",
      "80.0, 79.0",
      "–, 88.0",
      "48.0, 30.0",
      "85.0, 86.0",
    ]);
  });

  it("refuses runs of different Nodes, whose figures are not one population", () => {
    assert.throws(
      () => formatAcrossRuns([run([], "v24.22.3"), run([], "v26.12.1")]),
      /^Error: these runs are of different Nodes \(v24\.22\.3, v26\.12\.1\): give one Node's$/,
    );
  });
});
