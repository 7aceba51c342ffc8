import { writeStderrLine } from "../stderr-line.js";
import { createFdWriter, type FdWriter } from "./fd-writer.js";

/** What pino needs of a destination. */
export interface LogDestination {
  write(line: string): void;
}

/**
 * The most one write holds: a pipe's atomic write on Linux (PIPE_BUF). Workers
 * share one stdout; a longer write to a pipe the reader has let fill can be
 * split by the kernel, and another worker's write can land inside a line.
 */
export const WRITE_BYTES = 4096;

/**
 * A log destination that gathers the lines logged during one turn of the
 * event loop and writes them to `out` in as few writes of at most
 * `WRITE_BYTES` as they fit: each write as soon as the next line would not
 * fit it, the last at the end of the turn (a line longer than that in a write
 * of its own). Under load that is one write for the log lines of many
 * RPCs, without the cost of pino's asynchronous destination (sonic-boom),
 * which hands every write to libuv's thread pool and, while a write is in
 * flight, measures its growing buffer again for each line it appends
 * (bench/README.md, step 18). Each line is encoded once, into one buffer
 * that every write but a long line's is made from.
 *
 * Lines still gathered when the process exits are written then, or when
 * `flush` is called (pino's `logger.flush(cb)` calls it). `out` must be done
 * with each chunk when its `write` returns, as an FdWriter is, and must not
 * log to this destination meanwhile: the buffer is reused at once.
 */
export function createLogDestination(out: FdWriter): LogDestination & { flush(done?: () => void): void } {
  const gathered = Buffer.allocUnsafe(WRITE_BYTES);
  let used = 0;
  let scheduled = false;
  const writeGathered = () => {
    out.write(gathered.subarray(0, used));
    used = 0;
  };
  const flush = (done?: () => void) => {
    scheduled = false;
    if (used > 0) writeGathered();
    done?.();
  };
  return {
    write(line) {
      // A UTF-16 unit takes at most 3 bytes: the exact count only when the line may not fit.
      if (line.length * 3 > WRITE_BYTES - used) {
        const bytes = Buffer.byteLength(line);
        if (bytes > WRITE_BYTES - used && used > 0) writeGathered();
        if (bytes > WRITE_BYTES) {
          out.write(line);
          return;
        }
      }
      used += gathered.write(line, used);
      if (scheduled) return;
      scheduled = true;
      setImmediate(flush);
    },
    flush,
  };
}

let stdout: LogDestination | undefined;

const reportFailedOutput = (error: Error) => {
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  writeStderrLine(`simpletest: writing the log to stdout failed (${code}); log lines are dropped from now on`);
};

/**
 * The process's one destination for stdout (file descriptor 1, written
 * directly: see createFdWriter), written out in full when the process exits.
 */
export function stdoutLogDestination(): LogDestination {
  if (stdout === undefined) {
    const writer = createFdWriter(1, reportFailedOutput);
    const destination = createLogDestination(writer);
    process.once("exit", () => destination.flush());
    stdout = destination;
  }
  return stdout;
}
