import type { App } from "./app.js";

/** How long a connection may linger past the grace period (a peer that never reads its GOAWAY) before it is cut. */
const lingerMs = 2_000;

/**
 * Closes the app as a stop does: calls still running when the grace period
 * ends are cancelled (app.ts), and connections still open `lingerMs` after
 * that are cut, so that the close ends whatever the peers do.
 */
export async function closeApp(app: Pick<App, "fastify" | "front">, graceMs: number): Promise<void> {
  const cut = setTimeout(() => app.front.destroyConnections(), graceMs + lingerMs);
  cut.unref();
  try {
    await app.fastify.close();
  } finally {
    clearTimeout(cut);
  }
}
