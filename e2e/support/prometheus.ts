import assert from "node:assert/strict";
import { eventually } from "../../testkit/eventually.js";

/** Whether a line of the text format is a series of `name`, with labels or without. */
function isSeriesOf(line: string, name: string): boolean {
  return line.startsWith(`${name}{`) || line.startsWith(`${name} `);
}

/** The value of the first series of `name` whose labels include `labels` (any series when none are given), or undefined. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!isSeriesOf(line, name)) continue;
    const has = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (has) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/** The sum of every series of `name` whose labels include `labels`. */
export function total(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!isSeriesOf(line, name)) continue;
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
