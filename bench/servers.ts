import { spawnServer } from "../testkit/server-process.js";

/** A server the bench starts: ours (in some configuration) or a peer. */
export interface ServerSpec {
  readonly name: string;
  readonly script: string;
  /** The checkout whose build runs (testkit's SpawnOptions.root); default this one. */
  readonly root?: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Node flags for this server alone, after npm start's and the run's (so they win). */
  readonly nodeFlags?: readonly string[];
  /** taskset's CPU list for this server, instead of the run's (`--server-cpus`). */
  readonly cpus?: string;
}

/** The peers a team would compare this server with, each run as its own users run it. */
export const peerSpecs: Readonly<Record<string, ServerSpec>> = {
  // grpc-js as its users run it: @grpc/proto-loader and protobuf.js.
  "grpc-js": { name: "grpc-js", script: "bench/peers/grpc-js-server.ts" },
  "bare-http2": { name: "bare-http2", script: "bench/peers/bare-http2-server.ts" },
  "bare-fastify": { name: "bare-fastify", script: "bench/peers/bare-fastify-server.ts" },
};

/** `--env K=V` arguments as an environment; V keeps any "=" of its own (`NODE_OPTIONS=--flag=1`). */
export function envFromPairs(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf("=");
      if (at < 1) throw new Error(`--env wants NAME=VALUE, got "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

export interface StartedServer {
  readonly spec: ServerSpec;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts a server pinned to `cpus` (taskset's CPU list) on a free loopback port, with `node` and any Node flags. */
export async function startServer(
  spec: ServerSpec,
  node: string,
  nodeFlags: readonly string[],
  cpus: string,
): Promise<StartedServer> {
  const server = await spawnServer({
    script: spec.script,
    root: spec.root,
    args: spec.args,
    env: spec.env,
    node,
    nodeFlags: [...nodeFlags, ...(spec.nodeFlags ?? [])],
    under: ["taskset", "-c", spec.cpus ?? cpus],
    // Read by another process, as a log shipper reads a server in production: the per-RPC line costs what it costs there.
    logs: "ship",
  });
  return { spec, url: server.url, pid: server.child.pid ?? 0, stop: server.close };
}
