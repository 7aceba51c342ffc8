import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface CommandResult {
  /** The exit code, or null when a signal ended the process (e.g. the timeout's). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Killed after this long; default 20 s. */
  readonly timeoutMs?: number;
  /** Called with each line of stdout as it arrives, for commands that stream. */
  readonly onLine?: (line: string) => void;
}

/**
 * Runs a command to its end and collects its output. Asynchronous on purpose:
 * the server under test may live in this very process.
 */
export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ["pipe", "pipe", "pipe"],
    timeout: options.timeoutMs ?? 20_000,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  if (options.onLine) createInterface({ input: child.stdout }).on("line", options.onLine);
  child.stdin.end(options.input ?? "");
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
