import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";

/** What the trim reports to: pino's (Fastify's) logger fits. */
export interface TrimLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Below this share of a look's time spent running, the event loop was at
 * rest: 150 ms in a default look of 15 s. An idle server's loop runs ~0.5% of
 * the time with METRICS on (prom-client's event-loop delay monitor wakes it
 * every 10 ms); health checks and scrapes add little, and by an estimate from
 * their CPU per call (not measured) a few dozen small calls a second stay
 * under it too: such a server is trimmed once, then not again until it has
 * been busier.
 */
const restingShare = 0.01;

/** Looks at the event loop per rest period: a trim comes `restMs` to 1.25 × `restMs` after the last busy moment. */
const looksPerRest = 4;

/** Less growth than this since the last trim is not worth a collection that stops the event loop. */
const worthTrimmingBytes = 4 * 1024 * 1024;

/** V8 gives JavaScript its collection of last resort from V8 12 (Node 22); Node 20's would run an ordinary one, giving nothing back. */
export const canTrimMemory = Number(process.versions.v8.split(".")[0]) >= 12;

/**
 * Gives back what loading the modules and building the app left: one call of
 * V8's collection of last resort (full collections until nothing more is
 * freed), which shrinks the young generation to its smallest, compacts the
 * old one and returns the pages freed. Start-up grows the young generation
 * to npm start's cap (16 MB), and on Nodes 24 and 26 V8 never shrinks it in
 * a process at rest (bench/README.md, step 74). Called before the server
 * listens, so that no call waits for it; the first calls grow the young
 * generation back as they need it. Returns V8's heap after it, for
 * `trimMemoryAtRest`; undefined where V8 cannot (`canTrimMemory` false: it
 * does nothing) or the collection failed.
 */
export function trimMemoryAtStart(log: TrimLog): number | undefined {
  if (!canTrimMemory) return undefined;
  return trimNow(log, "memory trimmed at start", {});
}

/**
 * Runs `trimMemoryAtStart`'s collection again once the event loop has rested
 * for `restMs`, so that a server does not hold a burst's peak for good: V8
 * no more shrinks the young generation a burst grew than the one start-up
 * grew. Once per rest (the loop must be busy again before the next), and
 * only when V8's heap has grown by `worthTrimmingBytes` since the last trim
 * (`heapAfterStart`: the start's). Where V8 cannot (`canTrimMemory` false),
 * or the collection has failed, it does nothing.
 *
 * The trim stops the event loop for its collections (about a tenth of a
 * second after a load, on Node 24 here; a call that comes meanwhile waits),
 * and costs the next burst: collected at rest, V8 drops the object shapes no
 * live object had, and code that used them is deoptimized, while the young
 * generation grows back from its smallest. That burst's first second ran at
 * about half of its later speed, its second at about three quarters
 * (`npx tsx bench/after-rest.ts`, bench/README.md steps 55 and 56).
 */
export function trimMemoryAtRest(restMs: number, log: TrimLog, heapAfterStart?: number): { stop(): void } {
  if (!canTrimMemory || collectFailed) return { stop() {} };
  const rule = new TrimRule();
  if (heapAfterStart !== undefined) rule.trimmed(heapAfterStart);
  const lookMs = restMs / looksPerRest;
  const restingMs = restingShare * lookMs;
  const trimIfDue = (busy: boolean) => {
    if (busy) {
      rule.busy();
      return;
    }
    if (!rule.quiet(v8.getHeapStatistics().total_heap_size)) return;
    const heapAfter = trimNow(log, "memory trimmed at rest", { restedMs: Math.round(rule.quietLooks * lookMs) });
    if (heapAfter === undefined) stop();
    else rule.trimmed(heapAfter);
  };
  let last = performance.eventLoopUtilization();
  const look = () => {
    trimIfDue(performance.eventLoopUtilization(performance.eventLoopUtilization(), last).active >= restingMs);
    // From the look's end: its own work (a trim's above all) is not the clients'.
    last = performance.eventLoopUtilization();
  };
  const timer = setInterval(look, lookMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  return { stop };
}

let collect: (() => void) | undefined;
let collectFailed = false;

/**
 * One collection of last resort, logged as `message` with `fields`, what it
 * took and what it gave back; V8's heap after it, or undefined if it failed
 * (said once, in a warning: the server trims no more).
 */
function trimNow(log: TrimLog, message: string, fields: object): number | undefined {
  const heap = v8.getHeapStatistics().total_heap_size;
  const young = youngGenerationBytes();
  const rss = process.memoryUsage.rss();
  const start = performance.now();
  try {
    collect ??= lastResortCollection();
    collect();
  } catch (e) {
    collectFailed = true;
    log.warn({ err: e }, "memory is no longer trimmed: V8's collection of last resort failed");
    return undefined;
  }
  const durationMs = Math.round((performance.now() - start) * 10) / 10;
  const heapAfter = v8.getHeapStatistics().total_heap_size;
  log.info(
    {
      ...fields,
      durationMs,
      youngBytes: young,
      youngAfterBytes: youngGenerationBytes(),
      heapBytes: heap,
      heapAfterBytes: heapAfter,
      rssBytes: rss,
      rssAfterBytes: process.memoryUsage.rss(),
    },
    message,
  );
  return heapAfter;
}

/** `trimMemoryAtRest`'s rule, told each look at the event loop: whether a trim is due. */
export class TrimRule {
  #armed = true;
  #heapAfterTrim = 0;
  #quietLooks = 0;

  /** The quiet looks in a row so far. */
  get quietLooks(): number {
    return this.#quietLooks;
  }

  /** A busy look: the rest starts again, and a trim may come after it. */
  busy(): void {
    this.#armed = true;
    this.#quietLooks = 0;
  }

  /** A quiet look, V8's heap at `heapBytes`: whether a trim is due now (the rule then counts it done). */
  quiet(heapBytes: number): boolean {
    this.#quietLooks++;
    if (!this.#armed || this.#quietLooks < looksPerRest || heapBytes < this.#heapAfterTrim + worthTrimmingBytes)
      return false;
    this.#armed = false;
    return true;
  }

  /** What V8's heap came to after the trim: the next is due only past this, plus `worthTrimmingBytes`. */
  trimmed(heapAfterBytes: number): void {
    this.#heapAfterTrim = heapAfterBytes;
  }
}

function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size ?? 0;
}

/**
 * V8's collection of last resort (as when memory runs short), through the
 * `gc` function of a context made while `--expose-gc` is on, so that no
 * global `gc` appears in the server's own context for its dependencies to
 * find. That context lives on with the function.
 */
function lastResortCollection(): () => void {
  let gc: unknown;
  v8.setFlagsFromString("--expose-gc");
  try {
    gc = vm.runInNewContext("gc");
  } finally {
    v8.setFlagsFromString("--no-expose-gc");
  }
  if (typeof gc !== "function") throw new Error("no gc function in a context made with --expose-gc");
  return () => gc({ type: "major", flavor: "last-resort" });
}
