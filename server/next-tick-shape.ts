import { executionAsyncResource } from "node:async_hooks";

let held: object | undefined;

/**
 * Keeps `process.nextTick` on V8's fast path for the life of the process.
 *
 * Node builds each nextTick entry as an object literal with computed (symbol)
 * keys. V8 keeps the map such a literal ends in only while an object of that
 * map is alive: a full collection at a moment when no tick is queued drops it,
 * the next tick builds a new one, and after about three of those the
 * literal's property definitions turn megamorphic for good. Every tick then
 * costs ~0.5 µs more (Node 24), several µs per call, from start-up on in the
 * starts whose collections fall that way (bench/README.md, step 44). One entry
 * held here keeps the map alive. Inside a tick's callback, `executionAsyncResource()`
 * is that tick's entry (docs/internals.md).
 */
export function holdNextTickShape(): void {
  process.nextTick(() => {
    held = executionAsyncResource();
  });
}

/** The entry held, once the tick has run: for the test that checks it is one. */
export function heldNextTickEntry(): object | undefined {
  return held;
}
