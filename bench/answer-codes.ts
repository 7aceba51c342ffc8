/**
 * How many calls our server has answered with each gRPC code, from its own
 * /metrics. h2load sees HTTP status only, and a gRPC error is HTTP 200: a
 * load answered with resource_exhausted would count as served.
 */
export async function answerCodes(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const codes = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^grpc_server_handled_total\{.*grpc_code="(\w+)".*\} (\d+)/.exec(line);
    if (match) codes.set(match[1], (codes.get(match[1]) ?? 0) + Number(match[2]));
  }
  return codes;
}

/**
 * The calls answered with an error between two readings, by code. Canceled
 * is left out: the load generator cancels the calls in flight when its time
 * is up.
 */
export function errorsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const errors = new Map<string, number>();
  for (const [code, n] of after) {
    const added = n - (before.get(code) ?? 0);
    if (added > 0 && code !== "OK" && code !== "Canceled") errors.set(code, added);
  }
  return errors;
}
