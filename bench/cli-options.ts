/** Refuses a command-line option's value at once, in one line, with exit code 2. */
export function refuse(flag: string, why: string): never {
  process.stderr.write(`${flag} ${why}\n`);
  process.exit(2);
}

/** `--rps`'s value: each connection's calls a second, a whole number, at least one; undefined when not given. */
export function rpsOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rps = Number(value);
  if (!Number.isInteger(rps) || rps < 1)
    refuse("--rps", `takes a whole number of calls a second, not ${JSON.stringify(value)}`);
  return rps;
}
