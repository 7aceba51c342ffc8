import { writeSync } from "node:fs";

/**
 * Writes one line to stderr at once, or not at all: `process.stderr` on a
 * pipe whose reader has gone reports EPIPE as an "error" event that no one
 * hears, which ends the process, and a server must not die of a message about
 * itself.
 */
export function writeStderrLine(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr is gone: there is no one left to tell.
  }
}
