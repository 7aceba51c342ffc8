import type { IdleMemory } from "./idle.js";
import type { SourceState } from "./source-state.js";

/** One server's figures on one workload: medians over the rounds. */
export interface Row {
  readonly workload: string;
  readonly title: string;
  readonly server: string;
  readonly ours: boolean;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Each round's p99, in the rounds' order: which rounds make the median. */
  readonly roundP99Ms: readonly number[];
  readonly rssMb: number;
  /** The server's CPU time per call (per message, for long-lived streams) in the measured window. */
  readonly cpuUsPerCall: number;
  /** Median over rounds of ours ÷ peer, by peer name; only on our rows. */
  readonly ratios: Readonly<Record<string, number>>;
  /** Ours ÷ peer in each round, in the rounds' order, by peer name: the spread behind the median. */
  readonly roundRatios: Readonly<Record<string, readonly number[]>>;
  /** Median over rounds of the peer's CPU time per call ÷ ours (above 1: ours costs less), by peer name. */
  readonly cpuRatios: Readonly<Record<string, number>>;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export { median };

/** The table printed at the end of a run. */
export function formatTable(rows: readonly Row[], peers: readonly string[]): string {
  const header = [
    "workload",
    "server",
    "req/s",
    "p50 ms",
    "p99 ms",
    "RSS MB",
    "CPU µs/call",
    ...peers.map((p) => `× ${p} (calls/s (rounds' range) / CPU)`),
  ];
  const lines = rows.map((r) => [
    r.workload,
    r.server,
    r.rps.toFixed(0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.rssMb.toFixed(0),
    r.cpuUsPerCall.toFixed(0),
    ...peers.map((p) =>
      r.ratios[p] === undefined
        ? ""
        : `${r.ratios[p].toFixed(2)}× ${roundsRange(r.roundRatios[p])} / ${r.cpuRatios[p].toFixed(2)}×`,
    ),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  return [
    fmt(header),
    `|${widths.map((w, i) => (i < 2 ? `${"-".repeat(w + 1)}-` : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    ...lines.map(fmt),
  ].join("\n");
}

/** The lowest and highest of the rounds' ratios, as "(0.84–1.41)". */
function roundsRange(ratios: readonly number[]): string {
  return `(${spanOf(ratios)})`;
}

/** The lowest and highest of `values`, as "0.84–1.41". */
export function spanOf(values: readonly number[]): string {
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
}

const escapeXml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/**
 * A bar chart, one panel per workload, bars scaled within each panel: of
 * req/s, or under a paced load (`--rps`), where every server answers the
 * same calls, of CPU per call.
 */
export function renderSvg(rows: readonly Row[], subtitle: string, measure: "rps" | "cpu" = "rps"): string {
  const valueFor = (r: Row) => (measure === "rps" ? r.rps : r.cpuUsPerCall);
  const label = (r: Row) =>
    measure === "rps" ? `${Math.round(r.rps).toLocaleString("en-US")}/s` : `${r.cpuUsPerCall.toFixed(1)} µs`;
  const heading =
    measure === "rps"
      ? "requests (or messages) per second, higher is better"
      : "CPU µs per call at the same offered load, lower is better";
  const workloads = [...new Set(rows.map((r) => r.workload))];
  const barHeight = 18;
  const gap = 6;
  const labelWidth = 200;
  const barWidth = 420;
  let y = 50;
  const parts: string[] = [];
  for (const id of workloads) {
    const group = rows.filter((r) => r.workload === id);
    const max = Math.max(...group.map(valueFor));
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escapeXml(group[0].title)}</text>`);
    y += 8;
    for (const r of group) {
      const width = Math.max(1, (valueFor(r) / max) * barWidth);
      parts.push(
        `<text x="${labelWidth - 6}" y="${y + barHeight - 5}" text-anchor="end">${escapeXml(r.server)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${barHeight}" fill="${r.ours ? "#2b6cb0" : "#a0aec0"}"/>`,
        `<text x="${labelWidth + width + 6}" y="${y + barHeight - 5}">${label(r)}</text>`,
      );
      y += barHeight + gap;
    }
    y += 22;
  }
  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="${height}" font-family="sans-serif" font-size="12">`,
    `<title>simpletest vs peers, ${heading}: ${escapeXml(subtitle)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">simpletest vs peers: ${heading}</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(subtitle)}</text>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/** What `npm run bench` writes to its `--out` directory (latest.json and a copy stamped with its time). */
export interface SavedRun {
  readonly node: string;
  readonly date: string;
  readonly source: SourceState;
  readonly setting: string;
  readonly rows: readonly Row[];
  /** By server; runs before step 75 have no `perFurtherConnection`. */
  readonly idle: Readonly<Record<string, Omit<IdleMemory, "perFurtherConnection"> & Partial<IdleMemory>>>;
}
