// Loaded into a server with `node --import` by `npm run bench:profile -- --gc`: the first
// SIGUSR2 starts node:v8's GCProfiler, and the second stops it and writes what it recorded (one
// entry per collection: its kind, its pause, the heap's spaces before and after) to GC_PROFILE.
import { writeFileSync } from "node:fs";
import { GCProfiler } from "node:v8";

let profiler;
process.on("SIGUSR2", () => {
  if (profiler === undefined) {
    profiler = new GCProfiler();
    profiler.start();
    return;
  }
  writeFileSync(process.env.GC_PROFILE, JSON.stringify(profiler.stop()));
});
