import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import net, { type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { createSimpleTestClient } from "../../client/simple-test-client.js";
import { builtServerMain } from "../../scripts/built-server.js";
import { type App, type BuildOptions, buildApp } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";

export interface RunningServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface InProcessServer extends RunningServer {
  readonly app: App;
}

/** Builds the real app in this process and listens on a free loopback port (or on `env.PORT`). */
export async function startServer(env: Record<string, string> = {}, options?: BuildOptions): Promise<InProcessServer> {
  const config = loadConfig({ LOG_LEVEL: "silent", PORT: "0", ...env, HOST: "127.0.0.1" });
  const app = await buildApp(config, options);
  const { fastify } = app;
  await fastify.listen({ host: config.host, port: config.port });
  const { port } = fastify.server.address() as AddressInfo;
  return {
    url: `${config.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    app,
    close: () => fastify.close(),
  };
}

/** A loopback port free right now, for a server that must be named before it starts. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface ServerProcess extends RunningServer {
  readonly child: ChildProcess;
  /** Every line the server logged so far. */
  readonly lines: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/** Starts the built server as `npm start` does, on a free loopback port. */
export async function spawnServer(env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [builtServerMain(), "--host", "127.0.0.1", "--port", "0"], {
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const lines: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => lines.push(line));
  const stdout = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    stdout.on("line", (line) => {
      lines.push(line);
      const match = /listening at https?:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match) resolve(Number(match[1]));
    });
    exited.then((code) => reject(new Error(`server exited with ${code}: ${lines.join("\n")}`)));
  });
  const url = `${env.TLS_CERT ? "https" : "http"}://127.0.0.1:${port}`;
  return {
    url,
    port,
    child,
    lines,
    exited,
    close: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
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
