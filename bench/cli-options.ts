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

/** `--header "NAME: VALUE"` values as request headers for h2load (names lower-cased, as HTTP/2 sends them). */
export function headersOf(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(":");
    const name = value.slice(0, colon).trim().toLowerCase();
    if (colon < 1 || !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
      refuse("--header", `takes "NAME: VALUE" with a header's name, not ${JSON.stringify(value)}`);
    headers[name] = value.slice(colon + 1).trim();
  }
  return headers;
}
