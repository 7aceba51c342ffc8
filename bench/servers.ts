import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { built } from "../scripts/built-server.js";

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
  const port = await freePort();
  const child = spawn(
    "taskset",
    ["-c", spec.cpus ?? String(cpu), node, ...nodeFlags, built(spec.script), ...(spec.args ?? [])],
    {
      env: { ...process.env, ...spec.env, HOST: "127.0.0.1", PORT: String(port) },
      // The server's own log goes nowhere, as a production log shipper would take it.
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const exited = once(child, "exit");
  await waitForPort(port, child);
  return {
    spec,
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`server did not open port ${port} within 30 s`);
}
