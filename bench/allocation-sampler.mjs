// Loaded into a server with `node --import` by `npm run bench:profile -- --allocations`: the
// first SIGUSR2 starts V8's sampling heap profiler, keeping the samples of objects the
// collector has freed too (so it counts what was allocated, not what is alive), and the second
// stops it and writes the profile to ALLOCATION_PROFILE.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const session = new Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );

let sampling = false;
process.on("SIGUSR2", async () => {
  if (!sampling) {
    sampling = true;
    await post("HeapProfiler.enable");
    await post("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  const { profile } = await post("HeapProfiler.stopSampling");
  writeFileSync(process.env.ALLOCATION_PROFILE, JSON.stringify(profile));
});
