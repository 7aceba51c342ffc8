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
 * hypervisor (~12 µs, inferred from a profile), and the load's CPU halts
 * between a server's answers the more often, the slower the server: over
 * HTTP/1.1 it halted 0.38–0.45 times a call under ours and 0.10 under bare
 * Fastify, so ours paid for the load generator's sleep (bench/README.md,
 * step 64). The request is the machine's: the server's CPU polls too.
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
      if (!held) return;
      held = false;
      closeSync(fd as number);
    },
  };
}

/** The CPUs kept awake for a run's loads unless `letIdle`; a hold that fails is said on stderr. */
export function keepCpusAwakeUnless(letIdle: boolean): AwakeCpus | undefined {
  if (letIdle) return undefined;
  const awake = keepCpusAwake();
  if (awake.notHeld !== undefined)
    process.stderr.write(`warning: the CPUs could not be kept awake (${awake.notHeld}): they halt when idle\n`);
  return awake;
}

/**
 * How many times `cpu` has halted since boot: the entries into its idle
 * states, polling left out; undefined where Linux does not count them.
 */
export function haltCount(cpu: number): number | undefined {
  const dir = `/sys/devices/system/cpu/cpu${cpu}/cpuidle`;
  try {
    let halts = 0;
    for (const state of readdirSync(dir).filter((name) => name.startsWith("state"))) {
      if (readFileSync(`${dir}/${state}/name`, "utf8").trim() === "POLL") continue;
      halts += Number(readFileSync(`${dir}/${state}/usage`, "utf8"));
    }
    return halts;
  } catch {
    return undefined;
  }
}

/** `work`'s result, and how many times each of `cpus` halted while it ran. */
export async function haltsDuring<T>(
  cpus: readonly number[],
  work: () => Promise<T>,
): Promise<{ result: T; halts: (number | undefined)[] }> {
  const before = cpus.map(haltCount);
  const result = await work();
  const halts = cpus.map((cpu, i) => {
    const first = before[i];
    const last = haltCount(cpu);
    return first === undefined || last === undefined ? undefined : last - first;
  });
  return { result, halts };
}

/** What a run asked of the CPUs, and how often the load's CPU halted a call where that was counted. */
export function describeCpuIdle(awake: AwakeCpus | undefined, loadHaltsPerCall: number | undefined): string {
  const asked =
    awake === undefined
      ? "CPUs free to halt when idle"
      : awake.notHeld === undefined
        ? "CPUs kept awake during the loads"
        : `CPUs free to halt when idle (not kept awake: ${awake.notHeld})`;
  return loadHaltsPerCall === undefined
    ? asked
    : `${asked}, the load's CPU halting ${loadHaltsPerCall.toFixed(3)} times a call`;
}
