import { setTimeout as sleep } from "node:timers/promises";
import { createSimpleTestClient } from "../../client/simple-test-client.js";

export interface CanaryReport {
  /** Calls that got the right answer. */
  readonly served: number;
  /** Calls that failed or got a wrong answer, with what went wrong. */
  readonly failures: readonly string[];
  /** Milliseconds each served call took, sorted. */
  readonly latenciesMs: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface Canary {
  /** Stops calling, waits for the call in flight, and reports. */
  stop(): Promise<CanaryReport>;
}

/**
 * An honest client that keeps calling while an attack runs: over gRPC on its
 * own HTTP/2 connection, unary and server streaming by turns, one call at a
 * time with `pauseMs` between calls. Every call carries a deadline, so that a
 * server that stops answering shows up as a failure rather than a hang.
 * `ca` trusts a server's own certificate, for an https URL.
 */
export function startCanary(
  url: string,
  options: { pauseMs?: number; deadlineMs?: number; ca?: string | Buffer } = {},
): Canary {
  const pauseMs = options.pauseMs ?? 20;
  const timeoutMs = options.deadlineMs ?? 5_000;
  const client = createSimpleTestClient({ baseUrl: url, protocol: "grpc", httpVersion: "2", ca: options.ca });
  const failures: string[] = [];
  const latenciesMs: number[] = [];
  let stopped = false;

  const callOnce = async (turn: number) => {
    const started = performance.now();
    if (turn % 2 === 0) {
      const { result } = await client.getOne({ hello: `canary ${turn}` }, { timeoutMs });
      if (result !== `Hello !! canary ${turn}`) throw new Error(`GetOne answered ${JSON.stringify(result)}`);
    } else {
      const got: string[] = [];
      for await (const m of client.getList({}, { timeoutMs })) got.push(m.resultlist);
      if (got.join() !== "test0,test1,test2,test3,test4") throw new Error(`GetList answered ${got.join()}`);
    }
    latenciesMs.push(performance.now() - started);
  };

  const loop = (async () => {
    for (let turn = 0; !stopped; turn++) {
      try {
        await callOnce(turn);
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
      await sleep(pauseMs);
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      client.close();
      const sorted = [...latenciesMs].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      return {
        served: sorted.length,
        failures,
        latenciesMs: sorted,
        p50Ms: at(0.5),
        p99Ms: at(0.99),
        maxMs: sorted.at(-1) ?? Number.NaN,
      };
    },
  };
}
