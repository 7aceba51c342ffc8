import { spawnServer } from "../testkit/server-process.js";

/** A server the bench starts: ours (in some configuration) or a peer. */
export interface ServerSpec {
  readonly name: string;
  readonly script: string;
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** taskset's CPU list for this server, instead of the one CPU every server shares. */
  readonly cpus?: string;
}

export interface StartedServer {
  readonly spec: ServerSpec;
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts a server pinned to `cpu` on a free loopback port, with `node` and any Node flags. */
export async function startServer(
  spec: ServerSpec,
  node: string,
  nodeFlags: readonly string[],
  cpu: number,
): Promise<StartedServer> {
  const server = await spawnServer({
    script: spec.script,
    args: spec.args,
    env: spec.env,
    node,
    nodeFlags,
    under: ["taskset", "-c", spec.cpus ?? String(cpu)],
    logs: "ignore",
  });
  return { spec, url: server.url, pid: server.child.pid ?? 0, stop: server.close };
}
