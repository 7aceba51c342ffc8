// Loaded into a server with `node --import` by `npm run bench:profile -- --loop-delay`: node:perf_hooks'
// event-loop delay histogram over the measured window. It records the time between the firings of a
// 1 ms timer, which fires once a turn at most: once turns run past 1 ms, their length, which is what
// an answer waits behind. What it read, in ms, goes to LOOP_DELAY_PROFILE.
import { writeFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { onMeasuredWindow } from "./measured-window.mjs";

const histogram = monitorEventLoopDelay({ resolution: 1 });
const ms = (ns) => ns / 1e6;
onMeasuredWindow(
  () => histogram.enable(),
  () => {
    histogram.disable();
    const [p50, p90, p99] = [50, 90, 99].map((p) => ms(histogram.percentile(p)));
    const read = { samples: histogram.count, mean: ms(histogram.mean), max: ms(histogram.max), p50, p90, p99 };
    writeFileSync(process.env.LOOP_DELAY_PROFILE, JSON.stringify(read));
  },
);
