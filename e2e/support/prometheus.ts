import assert from "node:assert/strict";
import { eventually } from "../../testkit/eventually.js";

/** The value of the first series of `name` whose labels include `labels`, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const has = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (has) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/** The sum of every series of `name` whose labels include `labels`. */
export function total(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/** The server's metrics, in Prometheus text format. */
export async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** Scrapes until `series` of `name` has `value`; returns the last scrape. Gives up after `withinMs`. */
export async function scrapeUntil(
  url: string,
  name: string,
  labels: Record<string, string>,
  value: number,
  withinMs = 5_000,
): Promise<string> {
  let text = "";
  const reached = async () => {
    text = await scrape(url);
    return sample(text, name, labels) === value;
  };
  // Not reached in time: the caller's assertion on the last scrape says what it held instead.
  await eventually(reached, { timeoutMs: withinMs, intervalMs: 20 }).catch(() => {});
  return text;
}
