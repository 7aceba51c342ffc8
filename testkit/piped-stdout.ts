import type { ChildProcess } from "node:child_process";
import { spawnPipedTo } from "./kernel-pipe.js";
import { stopChild } from "./server-process.js";

export interface PipedStdoutOptions {
  /** On top of this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long this side reads nothing (beyond what its socket buffers by itself). */
  readonly firstReadMs?: number;
  /** How long reading pauses after each read (up to 64 KB). */
  readonly pauseMs?: number;
  /** Its stderr down the same pipe, as `2>&1` sends it, instead of to `stderr()`. */
  readonly stderrToo?: boolean;
  /** SIGKILL after this long, should the command hang; default 60 s, whatever the test's own timeout. */
  readonly timeoutMs?: number;
}

export interface PipedStdout {
  /** The command itself: its pid, its signals and its exit code are the command's. */
  readonly child: ChildProcess;
  /** Everything read from its stdout so far. */
  stdout(): string;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with its exit code once it has exited and its stdout has been read to the end. */
  readonly closed: Promise<number | null>;
  /** SIGTERM, SIGKILL 20 s later if need be; resolves with its exit code once closed. */
  stop(): Promise<number | null>;
}

/**
 * Runs a command whose stdout is a real pipe, as a log shipper's or Docker's
 * is, and reads it as a reader that lags: `cat` reads the pipe and passes it
 * on here; while this side does not read, `cat` waits, and the pipe fills.
 */
export function spawnWithPipedStdout(
  command: string,
  args: readonly string[],
  options: PipedStdoutOptions = {},
): PipedStdout {
  const child = spawnPipedTo(["cat"], [command, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    stderrToo: options.stderrToo,
    timeout: options.timeoutMs ?? 60_000,
    killSignal: "SIGKILL",
  });
  const out: Buffer[] = [];
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => (err += text));
  const stdout = child.stdout as NodeJS.ReadableStream;
  const pauseMs = options.pauseMs ?? 0;
  stdout.on("data", (chunk: Buffer) => {
    out.push(chunk);
    if (pauseMs === 0) return;
    stdout.pause();
    setTimeout(() => stdout.resume(), pauseMs);
  });
  stdout.pause();
  setTimeout(() => stdout.resume(), options.firstReadMs ?? 0);
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const stop = async () => {
    await stopChild(child, closed);
    return closed;
  };
  return { child, stdout: () => Buffer.concat(out).toString(), stderr: () => err, closed, stop };
}
