import type http2 from "node:http2";

export interface Http2KeepAliveOptions {
  /** How often the server pings each session; 0 never. */
  readonly intervalMs: number;
  /** How long a ping may go unanswered before the session is closed. */
  readonly timeoutMs: number;
}

/**
 * Pings a session at a steady interval and destroys it when a ping goes
 * unanswered: a peer that vanished without closing its connection (a laptop
 * put to sleep, a NAT that forgot the mapping) does not hold its streams and
 * memory forever. A live client answers pings in its HTTP/2 stack, whatever
 * its streams are doing, so long quiet streams are not disturbed.
 */
export function keepSessionAlive(session: http2.ServerHttp2Session, options: Http2KeepAliveOptions): void {
  if (options.intervalMs === 0) return;
  let unanswered: NodeJS.Timeout | undefined;
  const interval = setInterval(() => {
    if (unanswered !== undefined || session.closed || session.destroyed) return;
    unanswered = setTimeout(() => session.destroy(), options.timeoutMs);
    const sent = session.ping((error) => {
      if (error) return;
      clearTimeout(unanswered);
      unanswered = undefined;
    });
    if (!sent) {
      clearTimeout(unanswered);
      unanswered = undefined;
    }
  }, options.intervalMs);
  session.once("close", () => {
    clearInterval(interval);
    clearTimeout(unanswered);
  });
}
