import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { treeCpuSeconds } from "./process-usage.js";

/** Seconds of load before the measured window, for every driver. */
export const warmUpSeconds = 1;

export interface H2loadRun {
  readonly url: string;
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly http1: boolean;
  readonly connections: number;
  /** Concurrent streams per connection (HTTP/2); HTTP/1.1 sends one request at a time. */
  readonly streams: number;
  readonly seconds: number;
  readonly cpu: number;
  /** The server under load, whose CPU time over the measured window is counted. */
  readonly serverPid: number;
  /** Send the server SIGUSR2 when the measured window opens and when it closes (bench:profile's recorders). */
  readonly signalWindow?: boolean;
}

export interface LoadResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests h2load counted as failed or errored: any is a broken run. */
  readonly failed: number;
  /** CPU time the server used in the measured window (after the warm-up), in seconds. */
  readonly serverCpuSeconds: number;
}

/** Runs h2load pinned to one core for a bounded time and reads its summary and per-request log. */
export async function runH2load(run: H2loadRun): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "simpletest-h2load-"));
  try {
    const bodyFile = join(dir, "body");
    const logFile = join(dir, "log");
    writeFileSync(bodyFile, run.body);
    const args = [
      "-c",
      String(run.cpu),
      "h2load",
      ...(run.http1 ? ["--h1", "-m", "1"] : ["-m", String(run.streams)]),
      "-c",
      String(run.connections),
      "-D",
      String(run.seconds),
      "--warm-up-time",
      String(warmUpSeconds),
      "-d",
      bodyFile,
      "--log-file",
      logFile,
      ...Object.entries(run.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
      run.url,
    ];
    let cpuAtWindow = Number.NaN;
    const window = setTimeout(() => {
      cpuAtWindow = treeCpuSeconds(run.serverPid);
      if (run.signalWindow) process.kill(run.serverPid, "SIGUSR2");
    }, warmUpSeconds * 1000);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile("taskset", args, { timeout: (run.seconds + 30) * 1000, maxBuffer: 1 << 20 }, (error, out) =>
        error ? reject(error) : resolve(out),
      ),
    ).finally(() => clearTimeout(window));
    if (run.signalWindow) process.kill(run.serverPid, "SIGUSR2");
    const serverCpuSeconds = treeCpuSeconds(run.serverPid) - cpuAtWindow;
    const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout)?.[1]);
    const counts = /requests: .* (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
    if (!Number.isFinite(rps) || counts === null) throw new Error(`cannot read h2load's output:\n${stdout}`);
    // Each log line: start time (µs), status, duration (µs).
    const durations = readFileSync(logFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => Number(line.split("\t")[2]))
      .sort((a, b) => a - b);
    const at = (q: number) => (durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0) / 1000;
    return {
      rps,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      failed: Number(counts[1]) + Number(counts[2]) + Number(counts[3]),
      serverCpuSeconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
