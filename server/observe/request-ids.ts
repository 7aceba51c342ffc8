/**
 * Request ids as Fastify's default generator makes them ("req-1", "req-2",
 * … in base 36, wrapping at 2^31 − 1), given to Fastify as its `genReqId` and
 * to the fast lane: one sequence, so that a log line's reqId names one
 * request whichever path served it.
 */
export function requestIdSequence(): () => string {
  const maxInt = 2147483647;
  let next = 0;
  return () => {
    next = (next + 1) & maxInt;
    return `req-${next.toString(36)}`;
  };
}
