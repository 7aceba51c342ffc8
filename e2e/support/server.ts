import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { createSimpleTestClient } from "../../client/simple-test-client.js";
import { type App, type BuildOptions, buildApp } from "../../server/app.js";
import { closeApp } from "../../server/close-app.js";
import { loadConfig } from "../../server/config.js";
import { type ServerProcess, spawnServer as spawnBuiltServer } from "../../testkit/server-process.js";

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface InProcessServer extends RunningServer {
  readonly app: App;
}

/** Written straight to file descriptor 1, a log would land inside the test runner's own output there. */
const discard = { write() {} };

/**
 * Builds the real app in this process and listens on a free loopback port (or
 * on `env.PORT`); its log lines go to `options.logStream`, or nowhere.
 */
export async function startServer(env: Record<string, string> = {}, options?: BuildOptions): Promise<InProcessServer> {
  const config = loadConfig({ LOG_LEVEL: "silent", PORT: "0", ...env, HOST: "127.0.0.1" });
  const app = await buildApp(config, { logStream: discard, ...options });
  const { fastify } = app;
  await fastify.listen({ host: config.host, port: config.port });
  const { port } = fastify.server.address() as AddressInfo;
  return {
    url: `${config.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    app,
    close: () => closeApp(app, config.shutdownGraceMs),
  };
}

export { freePort, type ServerProcess } from "../../testkit/server-process.js";

/** Starts the built server as `npm start` does, on a free loopback port, with `env` on top of this process's. */
export function spawnServer(env: Record<string, string> = {}): Promise<ServerProcess> {
  return spawnBuiltServer({ env });
}

/** Fails unless the server still answers a plain gRPC GetOne correctly. */
export async function assertStillServing(url: string): Promise<void> {
  const client = createSimpleTestClient({ baseUrl: url, protocol: "grpc" });
  try {
    assert.equal((await client.getOne({ hello: "still here" })).result, "Hello !! still here");
  } finally {
    client.close();
  }
}
