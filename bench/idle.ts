import http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { treeRss } from "./process-usage.js";

export interface IdleMemory {
  /** RSS of the server with no connection, a second after it started, in bytes. */
  readonly idleRss: number;
  /**
   * RSS added per idle HTTP/2 connection that made one call, over the first
   * `idleConnections` from fresh, in bytes: with what the first calls grow
   * once (V8's young generation growing back after our trim at start, code
   * compiled on first use).
   */
  readonly perConnection: number;
  /** The same over as many more opened after those (step 75): what one more connection costs. */
  readonly perFurtherConnection: number;
  /** RSS once the server has rested for `restMsFor` after that (our server trims its memory at rest), in bytes. */
  readonly restRss: number;
}

/** How many idle connections a fresh server is given, and then as many more. */
export const idleConnections = 200;

/**
 * How long the servers rest before their RSS at rest is read, all alike: our
 * server trims 1 to 1.25 IDLE_TRIM_MS after its event loop came to rest (it
 * looks at the loop every quarter of it), and V8's own unfinished work after
 * the last call (incremental marking's steps) can put the rest off by a look.
 * So 1.5 IDLE_TRIM_MS, and never less than the default's 90 s, so that every
 * run's column reads the peers after the same rest.
 */
export function restMsFor(idleTrimMs: number): number {
  return Math.max(90_000, idleTrimMs * 1.5);
}

/**
 * A fresh server's resident memory with no connection; then with
 * `idleConnections` HTTP/2 connections open and idle, each after one gRPC call
 * (`path`, `body`), so that the session and its buffers exist as they would
 * for a real client; then with as many more, whose cost is that of a
 * connection alone, without what the first calls grow once. The RSS at rest
 * is read later, for all servers at once (`restMsFor`), after all of them.
 */
export async function measureFresh(
  url: string,
  pid: number,
  call: { readonly path: string; readonly body: Uint8Array },
): Promise<Omit<IdleMemory, "restRss">> {
  const sessions: http2.ClientHttp2Session[] = [];
  const openIdleAndReadRss = async () => {
    for (let i = 0; i < idleConnections; i++) {
      const session = http2.connect(url);
      session.on("error", () => {});
      sessions.push(session);
      await new Promise<void>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": call.path,
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", reject);
        stream.resume();
        stream.on("close", resolve);
        stream.end(call.body);
      });
    }
    await sleep(1000);
    return treeRss(pid);
  };
  try {
    await sleep(1000);
    const idleRss = treeRss(pid);
    const firstRss = await openIdleAndReadRss();
    const furtherRss = await openIdleAndReadRss();
    return {
      idleRss,
      perConnection: (firstRss - idleRss) / idleConnections,
      perFurtherConnection: (furtherRss - firstRss) / idleConnections,
    };
  } finally {
    for (const session of sessions) session.destroy();
  }
}
