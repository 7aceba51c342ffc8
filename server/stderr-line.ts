import { createFdWriter } from "./observe/fd-writer.js";

/**
 * stderr, written as the log is (createFdWriter): each line whole, waiting
 * for a reader that lags. `process.stderr` would not do: on a pipe whose
 * reader has gone it reports EPIPE as an "error" event that no one hears,
 * which ends the process, and a server must not die of a message about
 * itself. A failure (a reader gone: EPIPE) drops the line and every one
 * after it, as there is no one left to tell.
 */
const stderr = createFdWriter(2, () => {});

export function writeStderrLine(line: string): void {
  stderr.write(`${line}\n`);
}
