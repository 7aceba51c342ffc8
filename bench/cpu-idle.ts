import { closeSync, constants, openSync, readdirSync, readFileSync, writeSync } from "node:fs";

/** Linux's CPU latency request: the strictest value held by an open descriptor applies to every CPU. */
export const latencyDevice = "/dev/cpu_dma_latency";

export interface AwakeCpus {
  /** Why the CPUs could not be kept awake (no such device, not root), or undefined if they are. */
  readonly notHeld: string | undefined;
  /** Lets the CPUs idle again, as before. */
  release(): void;
}

/**
 * Keeps every CPU out of its idle states until released, by asking Linux for
 * a wake-up latency of 0 µs: an idle CPU then polls rather than halts (as
 * tuned's latency-performance profile sets it, with 1). On this machine's
 * virtual CPUs, waking a halted CPU costs its waker an interrupt through the
 * hypervisor, ~12 µs by hand, and the load's core halts between a server's
 * answers the more often, the slower the server: a socket write woke h2load
 * 0.43 times a call for ours over HTTP/1.1 and 0.10 for bare Fastify, so ours
 * paid for the load generator's sleep (bench/README.md, step 64). A client
 * on another machine costs a server no such wake-up.
 */
export function keepCpusAwake(device = latencyDevice): AwakeCpus {
  let fd: number | undefined;
  try {
    fd = openSync(device, constants.O_WRONLY);
    // Four zero bytes: a 32-bit 0 µs in either byte order.
    writeSync(fd, Buffer.alloc(4));
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    return { notHeld: (error as NodeJS.ErrnoException).code ?? String(error), release() {} };
  }
  let held = true;
  return {
    notHeld: undefined,
    release() {
      if (held) closeSync(fd as number);
      held = false;
    },
  };
}

/**
 * How many times `cpu` has halted since boot: the entries into its idle
 * states, polling left out; undefined where Linux has no cpuidle for it.
 */
export function haltCount(cpu: number): number | undefined {
  const dir = `/sys/devices/system/cpu/cpu${cpu}/cpuidle`;
  let states: string[];
  try {
    states = readdirSync(dir).filter((name) => name.startsWith("state"));
  } catch {
    return undefined;
  }
  let halts = 0;
  for (const state of states) {
    if (readFileSync(`${dir}/${state}/name`, "utf8").trim() === "POLL") continue;
    halts += Number(readFileSync(`${dir}/${state}/usage`, "utf8"));
  }
  return halts;
}
