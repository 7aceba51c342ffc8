/** What pino needs of a destination. */
export interface LogDestination {
  write(line: string): void;
}

/**
 * A log destination that gathers the lines logged during one turn of the
 * event loop and writes them to `out` in one write at the end of that turn.
 * Under load that is one write for the log lines of many RPCs, without the
 * cost of pino's asynchronous destination (sonic-boom), which hands every
 * write to libuv's thread pool and, while a write is in flight, measures its
 * growing buffer again for each line it appends (bench/README.md, step 18).
 *
 * Lines still gathered when the process exits are written then: stdout is a
 * synchronous stream on Linux for files, pipes and terminals alike.
 */
export function createLogDestination(out: Pick<NodeJS.WritableStream, "write">): LogDestination & { flush(): void } {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const lines = pending.length === 1 ? pending[0] : pending.join("");
    pending = [];
    out.write(lines);
  };
  return {
    write(line) {
      pending.push(line);
      if (scheduled) return;
      scheduled = true;
      setImmediate(flush);
    },
    flush,
  };
}

let stdout: LogDestination | undefined;

/** The process's one destination for stdout, flushed when the process exits. */
export function stdoutLogDestination(): LogDestination {
  if (stdout === undefined) {
    const destination = createLogDestination(process.stdout);
    process.once("exit", destination.flush);
    stdout = destination;
  }
  return stdout;
}
