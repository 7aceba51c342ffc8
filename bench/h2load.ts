import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ServerUsage, type SystemCalls, serverUsage, usedBetween } from "./process-usage.js";

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
  /** Seconds of load before the measured window; `warmUpSeconds` unless said. */
  readonly warmUp?: number;
  /** Calls per second each connection sends (h2load's `--rps`); as fast as the server answers unless said. */
  readonly ratePerConnection?: number;
}

export interface LoadResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests h2load counted as failed or errored: any is a broken run. */
  readonly failed: number;
  /** CPU time the server used in the measured window (after the warm-up), in seconds. */
  readonly serverCpuSeconds: number;
  /** Times the server's main thread was switched out in the measured window (h2load's loads only): see ServerUsage. */
  readonly serverSwitches?: number;
  /** The server's system calls in the measured window (h2load's loads only): see ServerUsage. */
  readonly serverSystemCalls?: SystemCalls;
  /** How the calls at or over the p99 fall in time (h2load's loads only). */
  readonly slowest?: SlowestCalls;
}

/**
 * The calls at or over the p99, grouped into episodes: calls that ended less
 * than `episodeGapMs` apart. A few large episodes mean a few moments when
 * every call in flight waited; many small ones, calls served late one by one.
 */
export interface SlowestCalls {
  readonly calls: number;
  /** Each episode's calls and the longest of them, in ms; largest first. */
  readonly episodes: readonly { readonly calls: number; readonly longestMs: number }[];
}

export const episodeGapMs = 20;

/** One call of h2load's per-request log: when it started (µs since the epoch), its HTTP status, how long it took (µs). */
export interface H2loadCall {
  readonly start: number;
  readonly status: number;
  readonly duration: number;
}

export interface H2loadResult extends LoadResult {
  /** Every call of the measured window, as h2load logged it. */
  readonly calls: readonly H2loadCall[];
}

/** Runs h2load pinned to one core for a bounded time and reads its summary and per-request log. */
export async function runH2load(run: H2loadRun): Promise<H2loadResult> {
  const warmUp = run.warmUp ?? warmUpSeconds;
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
      ...(warmUp > 0 ? ["--warm-up-time", String(warmUp)] : []),
      ...(run.ratePerConnection === undefined ? [] : ["--rps", String(run.ratePerConnection)]),
      "-d",
      bodyFile,
      "--log-file",
      logFile,
      ...Object.entries(run.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
      run.url,
    ];
    let atWindow: ServerUsage | undefined;
    const window = setTimeout(() => {
      atWindow = serverUsage(run.serverPid);
      if (run.signalWindow) process.kill(run.serverPid, "SIGUSR2");
    }, warmUp * 1000);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile("taskset", args, { timeout: (run.seconds + 30) * 1000, maxBuffer: 1 << 20 }, (error, out) =>
        error ? reject(error) : resolve(out),
      ),
    ).finally(() => clearTimeout(window));
    if (run.signalWindow) process.kill(run.serverPid, "SIGUSR2");
    const used = usedBetween(atWindow, serverUsage(run.serverPid));
    const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(stdout)?.[1]);
    const counts = /requests: .* (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
    if (!Number.isFinite(rps) || counts === null) throw new Error(`cannot read h2load's output:\n${stdout}`);
    const calls = readFileSync(logFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line): H2loadCall => {
        const [start, status, duration] = line.split("\t").map(Number);
        return { start, status, duration };
      });
    const durations = calls.map((call) => call.duration).sort((a, b) => a - b);
    const at = (q: number) => (durations[Math.min(durations.length - 1, Math.floor(q * durations.length))] ?? 0) / 1000;
    const p99Ms = at(0.99);
    return {
      rps,
      p50Ms: at(0.5),
      p99Ms,
      failed: Number(counts[1]) + Number(counts[2]) + Number(counts[3]),
      serverCpuSeconds: used.cpuSeconds,
      serverSwitches: used.switches,
      serverSystemCalls: used.systemCalls,
      slowest: slowestCalls(calls.filter((call) => call.duration / 1000 >= p99Ms)),
      calls,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function slowestCalls(slow: readonly H2loadCall[]): SlowestCalls {
  const byEnd = slow
    .map((call) => ({ end: call.start + call.duration, duration: call.duration }))
    .sort((a, b) => a.end - b.end);
  const episodes: { calls: number; longestMs: number; lastEnd: number }[] = [];
  for (const call of byEnd) {
    const episode = episodes.at(-1);
    if (episode !== undefined && (call.end - episode.lastEnd) / 1000 < episodeGapMs) {
      episode.calls++;
      episode.longestMs = Math.max(episode.longestMs, call.duration / 1000);
      episode.lastEnd = call.end;
    } else episodes.push({ calls: 1, longestMs: call.duration / 1000, lastEnd: call.end });
  }
  return {
    calls: slow.length,
    episodes: episodes.map(({ calls, longestMs }) => ({ calls, longestMs })).sort((a, b) => b.calls - a.calls),
  };
}
