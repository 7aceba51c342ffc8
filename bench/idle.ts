import http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { treeRss } from "./process-usage.js";

export interface IdleMemory {
  /** RSS of the server with no connection, a second after it started, in bytes. */
  readonly idleRss: number;
  /** RSS added per idle HTTP/2 connection that made one call, in bytes. */
  readonly perConnection: number;
  /** RSS once the server has rested for `restMs` after that (our server trims its memory at rest), in bytes. */
  readonly restRss: number;
}

/**
 * How long the servers rest before their RSS at rest is read, all alike: our
 * server trims 60 to 75 s after its event loop came to rest (IDLE_TRIM_MS's
 * default, and its looks at the loop every 15 s), and V8's own unfinished
 * work after the last call (incremental marking's steps) can put the rest
 * off by a look.
 */
export const restMs = 90_000;

/**
 * A fresh server's resident memory with no connection, then with
 * `connections` HTTP/2 connections open and idle, each after one gRPC call
 * (`path`, `body`), so that the session and its buffers exist as they would
 * for a real client. The RSS at rest is read later, for all servers at once
 * (`restMs`).
 */
export async function measureFresh(
  url: string,
  pid: number,
  call: { readonly path: string; readonly body: Uint8Array },
  connections = 200,
): Promise<Omit<IdleMemory, "restRss">> {
  await sleep(1000);
  const idleRss = treeRss(pid);
  const sessions: http2.ClientHttp2Session[] = [];
  try {
    for (let i = 0; i < connections; i++) {
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
    return { idleRss, perConnection: (treeRss(pid) - idleRss) / connections };
  } finally {
    for (const session of sessions) session.destroy();
  }
}
