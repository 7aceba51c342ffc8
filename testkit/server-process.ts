import { type ChildProcess, type SpawnOptions as ChildSpawnOptions, spawn } from "node:child_process";
import { once } from "node:events";
import net, { type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { built, startNodeFlags } from "./built-server.js";
import { eventually } from "./eventually.js";
import { spawnPipedTo } from "./kernel-pipe.js";

/** A loopback port free right now, for a process that cannot report the port it was given, or must keep it. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface SpawnOptions {
  /** What runs, from the repository's root, as compiled into dist/ by `npm run build`; default the server, as `npm start` runs it. */
  readonly script?: string;
  /** The checkout whose build runs, with its own `npm start` flags; default this one. */
  readonly root?: string;
  /** On top of this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
  /** The node binary (default this process's) and flags for it (after `npm start`'s, for the server). */
  readonly node?: string;
  readonly nodeFlags?: readonly string[];
  /** A command node runs under, e.g. `["taskset", "-c", "0"]`. */
  readonly under?: readonly string[];
  /** The port; default: any free one. */
  readonly port?: number;
  /**
   * `keep` (default): every line it writes is kept in `lines`, and given to
   * `onLine`. `pass`: given to `onLine` only (a long-running process). `ignore`:
   * stdout goes nowhere and stderr to this process's. `ship`: stdout goes
   * down a kernel pipe to another process (`cat`, under `under` too, outside
   * the server's process tree) that reads it and throws it away, as a log
   * shipper reads a server's output; stderr to this process's.
   */
  readonly logs?: "keep" | "pass" | "ignore" | "ship";
  /** With `ship`: the shipper (`grep`, then) hands the lines holding this text to `onLine`, and throws the rest away. */
  readonly shipped?: string;
  /** Each line it writes, stdout and stderr alike, as it comes (unless `logs: "ignore"`). */
  readonly onLine?: (line: string) => void;
  /** Told of the process as soon as it exists, before it listens. */
  readonly onSpawn?: (child: ChildProcess) => void;
  /** Its own process group, so that a Ctrl-C in a terminal reaches the caller alone. */
  readonly detached?: boolean;
  /** How long it may take to listen; default 30 s. */
  readonly startTimeoutMs?: number;
}

export interface ServerProcess {
  /** e.g. http://127.0.0.1:41234 (https with TLS_CERT set) */
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Every line it wrote so far (with `logs: "keep"`). */
  readonly lines: string[];
  /** Resolves with the exit code, or null when a signal ended it. */
  readonly exited: Promise<number | null>;
  /** SIGTERM (a graceful stop), SIGKILL if it has not exited 20 s later; resolves once it has. */
  close(): Promise<void>;
}

const serverMain = "server/main.ts";

/**
 * Starts a built server on 127.0.0.1 and resolves once it listens. The
 * product's server, whose log is read, starts on port 0 and is believed when
 * it logs where it listens (so no other process can take the port between);
 * any other (a bench peer, a server whose log is ignored or kept quiet, one
 * given its port) gets a free port in HOST/PORT (and `--port` for ours) and
 * is waited for until the port takes connections. Rejects, with everything
 * it wrote, if it exits first.
 */
export async function spawnServer(options: SpawnOptions = {}): Promise<ServerProcess> {
  const script = options.script ?? serverMain;
  const env: Record<string, string> = { LOG_LEVEL: "info", ...options.env };
  const logsRead = options.logs !== "ignore" && options.logs !== "ship";
  const reportsPort =
    script === serverMain &&
    logsRead &&
    options.port === undefined &&
    ["info", "debug", "trace"].includes(env.LOG_LEVEL);
  const port = reportsPort ? 0 : (options.port ?? (await freePort()));
  const ownFlags = script === serverMain ? ["--host", "127.0.0.1", "--port", String(port)] : [];
  // npm start's flags first: a flag given here for a run (the bench's --node-flag) comes later and wins.
  const startFlags = script === serverMain ? startNodeFlags(options.root) : [];
  const argv = [
    ...startFlags,
    ...(options.nodeFlags ?? []),
    built(script, options.root),
    ...ownFlags,
    ...(options.args ?? []),
  ];
  const server = [...(options.under ?? []), options.node ?? process.execPath, ...argv];
  const spawnOptions = {
    env: { ...process.env, ...env, HOST: "127.0.0.1", PORT: String(port) },
    detached: options.detached,
  };
  const child =
    options.logs === "ship"
      ? shipLines(server, spawnOptions, options.under ?? [], options.shipped, options.onLine)
      : spawn(server[0], server.slice(1), {
          ...spawnOptions,
          stdio: logsRead ? ["ignore", "pipe", "pipe"] : ["ignore", "ignore", "inherit"],
        });
  options.onSpawn?.(child);
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const lines: string[] = [];
  const listening = new Promise<number>((resolve) => {
    if (!logsRead) return;
    const onLine = (line: string) => {
      if (options.logs !== "pass") lines.push(line);
      options.onLine?.(line);
      const match = /listening at https?:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (match) resolve(Number(match[1]));
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
  });
  const close = () => stopChild(child, exited);
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const died = exited.then((code) => {
    throw new Error(`${script} exited with ${code} before it listened:\n${lines.join("\n")}`);
  });
  // Once it has listened, its exit is no failure; before, the race below reports it.
  died.catch(() => {});
  let listened: number;
  try {
    listened = await Promise.race([
      reportsPort
        ? listening
        : eventually(() => accepts(port), { timeoutMs, what: `${script} to listen on port ${port}` }).then(() => port),
      died,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${script} did not listen within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  } catch (e) {
    await close();
    throw e;
  }
  const scheme = env.TLS_CERT ? "https" : "http";
  return { url: `${scheme}://127.0.0.1:${listened}`, port: listened, child, lines, exited, close };
}

/** SIGTERM (a graceful stop), SIGKILL if it has not exited 20 s later; resolves once `exited` has. */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Spawns `server` with its stdout a pipe read by a `cat` that throws it
 * away, or by a `grep` that passes on the lines holding `shipped` to
 * `onLine`: a shipper apart from the server's processes, as in production.
 */
function shipLines(
  server: readonly string[],
  options: ChildSpawnOptions,
  under: readonly string[],
  shipped: string | undefined,
  onLine: ((line: string) => void) | undefined,
): ChildProcess {
  const reader = shipped === undefined ? ["cat"] : ["grep", "--line-buffered", "-F", "--", shipped];
  const child = spawnPipedTo([...under, ...reader], server, {
    ...options,
    stdio: ["ignore", shipped === undefined ? "ignore" : "pipe", "inherit"],
    readerApart: true,
  });
  if (child.stdout) createInterface({ input: child.stdout }).on("line", (line) => onLine?.(line));
  return child;
}

/** Whether a TCP connection to 127.0.0.1:`port` is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
