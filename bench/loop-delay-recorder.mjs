// Loaded into a server with `node --import` by `npm run bench:profile -- --loop-delay`: node:perf_hooks'
// event-loop delay histogram over the measured window. It records the time between the firings of a
// 1 ms timer, which fires once a turn at most: once turns run past 1 ms, their length, which is what
// an answer waits behind. Beside it, when each turn of 10 ms or more began and when each full
// collection did, so that the long turns can be set beside the collections. What it read, in ms
// (times from the window's opening), goes to LOOP_DELAY_PROFILE.
import { writeFileSync } from "node:fs";
import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";
import { onMeasuredWindow } from "./measured-window.mjs";

const longTurnMs = 10;
const histogram = monitorEventLoopDelay({ resolution: 1 });
const ms = (ns) => ns / 1e6;
let opened = 0;
let last = 0;
let turns;
const longTurns = [];
const fullCollections = [];
const collections = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
      fullCollections.push({ at: entry.startTime - opened, ms: entry.duration });
  }
});
onMeasuredWindow(
  () => {
    opened = last = performance.now();
    histogram.enable();
    turns = setInterval(() => {
      const now = performance.now();
      if (now - last >= longTurnMs) longTurns.push({ at: last - opened, ms: now - last });
      last = now;
    }, 1);
    collections.observe({ entryTypes: ["gc"] });
  },
  () => {
    histogram.disable();
    clearInterval(turns);
    collections.disconnect();
    const [p50, p90, p99] = [50, 90, 99].map((p) => ms(histogram.percentile(p)));
    const read = { samples: histogram.count, mean: ms(histogram.mean), max: ms(histogram.max), p50, p90, p99 };
    writeFileSync(process.env.LOOP_DELAY_PROFILE, JSON.stringify({ ...read, longTurns, fullCollections }));
  },
);
