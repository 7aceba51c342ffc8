import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { formatAcrossRuns } from "./across-runs-report.js";
import type { SavedRun } from "./report.js";

const usage = `npx tsx bench/across-runs.ts RUN [RUN ...]
  RUN is a JSON file \`npm run bench\` wrote, or its --out directory (its latest.json).
  Prints, for runs of one Node, each target of issue 13 run by run (the median of each run's
  rounds) beside the median of the runs and how many met it; then the p99s and peak RSS, and
  the idle memory, run by run: what one run cannot settle when the same build's medians move
  between runs (bench/README.md, step 73).`;

/** Reads a saved run: a bench JSON file, or the `--out` directory holding its latest.json. */
function readRun(path: string): SavedRun {
  const file = statSync(path).isDirectory() ? join(path, "latest.json") : path;
  return JSON.parse(readFileSync(file, "utf8")) as SavedRun;
}

const paths = process.argv.slice(2);
if (paths.includes("--help")) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (paths.length === 0) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}
process.stdout.write(`${formatAcrossRuns(paths.map(readRun))}\n`);
