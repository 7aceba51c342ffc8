// Loaded into a server with `node --import` by `npm run bench:profile -- --memory`: what the
// process's memory was made of at its highest RSS over the measured window. Every 50 ms it reads
// the RSS (process.memoryUsage.rss()); at each new peak (1 MB or more above the last) it reads the
// rest: the mappings' resident memory from /proc/self/smaps (files, malloc's main heap, the other
// anonymous memory), V8's heap by space, and what V8 itself allocated with malloc (its compilers'
// zones, mostly). The highest RSS it read, and that breakdown, in bytes, go to MEMORY_PROFILE.
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import v8 from "node:v8";
import { onMeasuredWindow } from "./measured-window.mjs";

const everyMs = 50;
const newPeakBytes = 1 << 20;
const kB = 1024;
const nodeBinary = realpathSync(process.execPath);

/** Resident memory by kind of mapping: the node binary, other files, malloc's main heap, the rest. */
function mappings() {
  const resident = { nodeBinary: 0, otherFiles: 0, mallocHeap: 0, otherAnonymous: 0 };
  let kind = "otherAnonymous";
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1];
      kind =
        name === nodeBinary
          ? "nodeBinary"
          : name.startsWith("/")
            ? "otherFiles"
            : name === "[heap]"
              ? "mallocHeap"
              : "otherAnonymous";
      continue;
    }
    const size = /^Rss:\s+(\d+) kB/.exec(line);
    if (size) resident[kind] += Number(size[1]) * kB;
  }
  return resident;
}

function breakdown(at) {
  const heap = v8.getHeapStatistics();
  const spaces = Object.fromEntries(
    v8
      .getHeapSpaceStatistics()
      .filter((space) => space.space_size > 0)
      .map((space) => [space.space_name, { size: space.space_size, used: space.space_used_size }]),
  );
  const usage = process.memoryUsage();
  return {
    rss: at,
    ...mappings(),
    heapPhysical: heap.total_physical_size,
    spaces,
    malloced: heap.malloced_memory,
    peakMalloced: heap.peak_malloced_memory,
    external: usage.external,
  };
}

let peak;
let highest = 0;
let sampling;
onMeasuredWindow(
  () => {
    sampling = setInterval(() => {
      const now = process.memoryUsage.rss();
      highest = Math.max(highest, now);
      if (peak === undefined || now >= peak.rss + newPeakBytes) peak = breakdown(now);
    }, everyMs);
  },
  () => {
    clearInterval(sampling);
    writeFileSync(
      process.env.MEMORY_PROFILE,
      JSON.stringify({ highest, peak: peak ?? breakdown(process.memoryUsage.rss()) }),
    );
  },
);
