import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/*
 * What a server uses, read from /proc (Linux only): its process and every
 * descendant (WORKERS), so a cluster counts whole.
 */

/** The process and its descendants. */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== undefined) {
      const ppid = Number(fields[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    }
  }
  const all: number[] = [];
  const visit = (p: number) => {
    all.push(p);
    for (const child of children.get(p) ?? []) visit(child);
  };
  visit(pid);
  return all;
}

/** The fields of /proc/PID/stat after the command name (state first), or undefined if the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    // The command name may hold spaces and parentheses: read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** The text of /proc/PID/status, or undefined once the process is gone. */
function statusOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
}

/** The number a line of /proc/PID/status or /proc/PID/io gives (`VmRSS:  1234 kB` gives 1234), NaN if it has no such line. */
function procField(text: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1]);
}

/** Resident memory of a process and its descendants, in bytes. */
export function treeRss(pid: number): number {
  let total = 0;
  for (const p of tree(pid)) {
    const status = statusOf(p);
    // A process that ended while we looked, or a kernel thread (no VmRSS), counts nothing.
    if (status !== undefined) total += (procField(status, "VmRSS") || 0) * 1024;
  }
  return total;
}

let ticksPerSecond: number | undefined;

/** The CPU time these processes have used, in seconds: user and system, every thread. */
function cpuSeconds(pids: readonly number[]): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));
  let ticks = 0;
  for (const p of pids) {
    const fields = statFields(p);
    // utime and stime: fields 14 and 15 of /proc/PID/stat, 12 and 13 after the command name.
    if (fields !== undefined) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerSecond;
}

/**
 * CPU time a process and its descendants have used, in seconds: user and
 * system, every thread (V8's garbage-collection helpers too).
 */
export function treeCpuSeconds(pid: number): number {
  return cpuSeconds(tree(pid));
}

/**
 * How many times a process's main thread has been switched out so far,
 * waiting (voluntary: a wait for I/O, a sleep) or preempted (involuntary: another
 * process or thread given its core, a log reader woken by a write among them);
 * NaN once the process is gone.
 */
export function mainThreadSwitches(pid: number): number {
  const status = statusOf(pid);
  if (status === undefined) return Number.NaN;
  return procField(status, "voluntary_ctxt_switches") + procField(status, "nonvoluntary_ctxt_switches");
}

/** Read and write system calls made so far: sockets, pipes and files alike, every thread. */
export interface SystemCalls {
  readonly reads: number;
  readonly writes: number;
}

const noSystemCalls: SystemCalls = { reads: Number.NaN, writes: Number.NaN };

/** The system calls of `pids` (see treeSystemCalls); NaN if `root`, the first, is gone. */
function systemCalls(pids: readonly number[], root: number): SystemCalls {
  let reads = 0;
  let writes = 0;
  for (const p of pids) {
    let io: string;
    try {
      io = readFileSync(`/proc/${p}/io`, "utf8");
    } catch {
      if (p === root) return noSystemCalls;
      continue;
    }
    reads += procField(io, "syscr");
    writes += procField(io, "syscw");
  }
  return { reads, writes };
}

/**
 * The system calls of a process and its descendants (/proc/PID/io's syscr
 * and syscw: the read(2) and write(2) families, through which libuv reads
 * and writes sockets and pipes; send and receive calls are not among them);
 * NaN once the process is gone.
 */
export function treeSystemCalls(pid: number): SystemCalls {
  return systemCalls(tree(pid), pid);
}

/** What a server has used so far, as a load's measured window reads it at each end. */
export interface ServerUsage {
  /** See treeCpuSeconds. */
  readonly cpuSeconds: number;
  /** See mainThreadSwitches. */
  readonly switches: number;
  /** See treeSystemCalls. */
  readonly systemCalls: SystemCalls;
}

/** The server's usage so far, its process tree walked once. */
export function serverUsage(pid: number): ServerUsage {
  const pids = tree(pid);
  return { cpuSeconds: cpuSeconds(pids), switches: mainThreadSwitches(pid), systemCalls: systemCalls(pids, pid) };
}

/** What was used between two readings; NaN throughout without the first. */
export function usedBetween(before: ServerUsage | undefined, after: ServerUsage): ServerUsage {
  if (before === undefined) return { cpuSeconds: Number.NaN, switches: Number.NaN, systemCalls: noSystemCalls };
  return {
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    switches: after.switches - before.switches,
    systemCalls: {
      reads: after.systemCalls.reads - before.systemCalls.reads,
      writes: after.systemCalls.writes - before.systemCalls.writes,
    },
  };
}

/** Samples `treeRss(pid)` until stopped and returns the highest value seen. */
export function sampleRss(pid: number, everyMs = 250): () => number {
  let peak = treeRss(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRss(pid));
  }, everyMs);
  return () => {
    clearInterval(timer);
    return Math.max(peak, treeRss(pid));
  };
}
