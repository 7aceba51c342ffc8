import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KernelPipeOptions extends SpawnOptions {
  /** The command's stderr down the pipe too, as `2>&1` sends it. */
  readonly stderrToo?: boolean;
  /**
   * The reader outside the command's process tree, as a log shipper is, so
   * that what /proc counts of the command and its descendants is its own.
   * Otherwise the reader becomes the command's child.
   */
  readonly readerApart?: boolean;
}

/**
 * Spawns `command` with its stdout a kernel pipe read by `reader`, as a shell
 * `|` or Docker joins a server to what reads its output. Node's spawn makes a
 * socket pair of a "pipe", another kernel object, whose writes the kernel
 * keeps whole where a pipe's may not be. The pipe is a FIFO; the shell that
 * opens it `exec`s the command, so the returned child's pid, signals and exit
 * code are the command's. The reader's stdout is the child's (`stdio[1]`).
 * A reader that cannot run leaves the command blocked opening the pipe, or
 * failing to write to it (EPIPE): the server says so on stderr.
 */
export function spawnPipedTo(
  reader: readonly string[],
  command: readonly string[],
  options: KernelPipeOptions = {},
): ChildProcess {
  const { stderrToo, readerApart, ...spawnOptions } = options;
  const dir = mkdtempSync(join(tmpdir(), "kernel-pipe-"));
  const readerLine = `${shellWords(reader)} < "$0" &`;
  const script = [
    'mkfifo "$0" && {',
    readerApart ? `(${readerLine});` : readerLine,
    `exec "$@" > "$0"${stderrToo ? " 2>&1" : ""}; }`,
  ].join(" ");
  const child = spawn("sh", ["-c", script, join(dir, "pipe"), ...command], spawnOptions);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  child.once("exit", removeDir);
  child.once("error", removeDir);
  return child;
}

/** `words` quoted for `sh`, each one word whatever it holds. */
export function shellWords(words: readonly string[]): string {
  return words.map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
}
