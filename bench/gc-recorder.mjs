// Loaded into a server with `node --import` by `npm run bench:profile -- --gc`: node:v8's
// GCProfiler over the measured window; what it recorded (one entry per collection: its kind, its
// pause, the heap's spaces before and after) goes to GC_PROFILE.
import { writeFileSync } from "node:fs";
import { GCProfiler } from "node:v8";
import { onMeasuredWindow } from "./measured-window.mjs";

const profiler = new GCProfiler();
onMeasuredWindow(
  () => profiler.start(),
  () => writeFileSync(process.env.GC_PROFILE, JSON.stringify(profiler.stop())),
);
