// Loaded into a server with `node --import` by `npm run bench:profile -- --allocations`: V8's
// sampling heap profiler over the measured window, keeping the samples of objects the collector
// has freed too (so it counts what was allocated, not what is alive); the profile goes to
// ALLOCATION_PROFILE. With ALLOCATION_OUTLIVING_SCAVENGES=1 (`--promoted`) it drops the objects
// scavenges freed and keeps the rest: what was promoted, freed young by a full collection, or not
// yet collected at the end.
import { writeFileSync } from "node:fs";
import { inspect, onMeasuredWindow } from "./measured-window.mjs";

onMeasuredWindow(
  async () => {
    await inspect("HeapProfiler.enable");
    await inspect("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: process.env.ALLOCATION_OUTLIVING_SCAVENGES !== "1",
    });
  },
  async () => {
    const { profile } = await inspect("HeapProfiler.stopSampling");
    writeFileSync(process.env.ALLOCATION_PROFILE, JSON.stringify(profile));
  },
);
