import { parseArgs } from "node:util";
import { holdNextTickShape } from "../server/next-tick-shape.js";

/**
 * The cost of process.nextTick before and after full collections that run
 * while no tick is queued (bench/README.md, step 44): after about the third,
 * V8 has dropped the entries' map three times and each tick costs several
 * times more on Nodes 20 and 24 (about twice on 26), for good, unless
 * `--hold` keeps one entry as the server does.
 * `node --import tsx --expose-gc bench/next-tick-cliff.ts [--hold]`.
 */
const { values } = parseArgs({ options: { hold: { type: "boolean", default: false } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
if (values.hold) holdNextTickShape();

const noop = () => {};
const turn = () => new Promise((resolve) => setImmediate(resolve));
const ticks = 200_000;

async function nsPerTick(): Promise<number> {
  await turn();
  const start = process.hrtime.bigint();
  for (let batch = 0; batch < 20; batch++) {
    for (let i = 0; i < ticks / 20; i++) process.nextTick(noop);
    await turn();
  }
  return Number(process.hrtime.bigint() - start) / ticks;
}

await nsPerTick();
const readings = [`before: ${(await nsPerTick()).toFixed(0)}`];
for (let collection = 1; collection <= 6; collection++) {
  await turn();
  gc();
  readings.push(`after ${collection}: ${(await nsPerTick()).toFixed(0)}`);
}
console.log(`${process.version}${values.hold ? ", one entry held" : ""}: ns per tick ${readings.join(", ")}`);
