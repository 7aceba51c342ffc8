import { setTimeout as sleep } from "node:timers/promises";

export interface EventuallyOptions {
  /** How long to keep trying; default 10 s, for a busy machine. */
  readonly timeoutMs?: number;
  /** The pause between tries; default 50 ms. */
  readonly intervalMs?: number;
  /** What is waited for, for the message when it never comes. */
  readonly what?: string;
}

/**
 * Tries `check` until it returns something truthy, and resolves with that. A
 * try that throws (an assertion not yet true) counts as not yet; when the time
 * is up, the last try's error is thrown, or one saying what never came.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  options: EventuallyOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (e) {
      failure = e;
    }
    if (performance.now() >= deadline) {
      throw failure ?? new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}
