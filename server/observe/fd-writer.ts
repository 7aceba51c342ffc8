import { writeSync } from "node:fs";

const RETRY_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

export interface FdWriter {
  /** Writes the chunk (text as UTF-8) before it returns, or drops it: its bytes may be reused at once. */
  write(chunk: string | Uint8Array): void;
}

/**
 * Writes to a file descriptor with `writeSync`, waiting for a reader that
 * lags (as Docker's default, blocking log mode does) rather than holding what
 * it cannot write yet. process.stdout holds it instead when its descriptor is
 * a pipe (or a Unix socket): libuv makes the pipe non-blocking and queues what the pipe will not
 * take, so the queue grows without bound while the reader lags, loses what it
 * holds when the process exits, and writes a long chunk in pieces between
 * which another process's writes to the same pipe can land. Here each chunk is
 * written whole and in order before `write` returns, in one write(2) whenever
 * the pipe takes it at once.
 *
 * A failure other than a full pipe (the reader gone: EPIPE) is reported once
 * to `onError`, and what is written after it is dropped.
 */
export function createFdWriter(fd: number, onError: (error: Error) => void): FdWriter {
  let failed = false;
  return {
    write(chunk) {
      if (failed) return;
      let rest = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      while (rest.length > 0) {
        let written = 0;
        try {
          written = writeSync(fd, rest);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EAGAIN") {
            failed = true;
            onError(error as Error);
            return;
          }
        }
        // Node has no synchronous wait for a descriptor to take more, so it sleeps.
        if (written === 0) Atomics.wait(sleeper, 0, 0, RETRY_MS);
        rest = rest.subarray(written);
      }
    },
  };
}
