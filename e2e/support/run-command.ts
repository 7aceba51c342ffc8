import { type ChildProcessByStdio, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

export interface CommandResult {
  /** The exit code, or null when a signal ended the process (e.g. the timeout's). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed; without it stdin is empty (/dev/null). */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed after this long; default 20 s. */
  readonly timeoutMs?: number;
  /** The signal the timeout sends; default SIGTERM. */
  readonly killSignal?: NodeJS.Signals;
  /** Called with each line of stdout as it arrives, for commands that stream. */
  readonly onLine?: (line: string) => void;
}

/**
 * Runs a command to its end and collects its output. Asynchronous on purpose:
 * the server under test may live in this very process.
 */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  // Nothing is written to a command given no input: a command that exits at once
  // (a failed curl, `true`) would otherwise make the write fail with EPIPE under load.
  const stdin: "ignore" | "pipe" = options.input === undefined ? "ignore" : "pipe";
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: [stdin, "pipe", "pipe"],
    timeout: options.timeoutMs ?? 20_000,
    killSignal: options.killSignal,
  }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  if (options.onLine) createInterface({ input: child.stdout }).on("line", options.onLine);
  if (child.stdin !== null) {
    // A command may exit before it reads all its input: what it did is in its exit code and output.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input);
  }
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
