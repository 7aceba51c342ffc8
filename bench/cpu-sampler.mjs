// Loaded into a server with `node --import` by `npm run bench:profile` (without --allocations or
// --gc): V8's CPU profiler over the measured window, without start-up, warm-up or shutdown; the
// profile (.cpuprofile, as `node --cpu-prof` writes it) goes to CPU_PROFILE.
import { writeFileSync } from "node:fs";
import { inspect, onMeasuredWindow } from "./measured-window.mjs";

onMeasuredWindow(
  async () => {
    await inspect("Profiler.enable");
    await inspect("Profiler.start");
  },
  async () => {
    const { profile } = await inspect("Profiler.stop");
    writeFileSync(process.env.CPU_PROFILE, JSON.stringify(profile));
  },
);
