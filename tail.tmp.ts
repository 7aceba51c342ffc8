import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { startServer, peerSpecs } from "./bench/servers.js";
import { workloads } from "./bench/workloads.js";
const [node, rounds, ...variants] = process.argv.slice(2) as [string, string, ...string[]];
const w = workloads.find((x) => x.id === (process.env.WL ?? "grpc-unary"))! as any;
const specs: any[] = variants.map((v) => v === "grpc-js" ? { ...peerSpecs["grpc-js"], label: v, nodeFlags: [] } : { name: "simpletest", label: v, script: "server/main.ts", nodeFlags: v === "-" ? [] : v.split(",") });
for (let round = 0; round < Number(rounds); round++) for (const spec of specs) {
  const file = `/tmp/stall/${spec.label}-${round}.txt`; rmSync(file, { force: true });
  const s = await startServer({ ...spec, env: { STALL_FILE: file }, nodeFlags: ["--import", "/tmp/stall/rec.mjs", ...spec.nodeFlags] }, node, [], 0);
  try {
    writeFileSync("/tmp/tailbody", w.body);
    const log = `/tmp/stall/${spec.label}-${round}.log`;
    const out = execFileSync("taskset", ["-c", "1", "h2load", "-m", "16", "-c", "16", "-D", "4", "--warm-up-time", "1", "-d", "/tmp/tailbody", "--log-file", log, ...Object.entries(w.headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]), s.url + w.path]).toString();
    const rps = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1];
    const d = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => Number(l.split("\t")[2])).sort((a, b) => a - b);
    const p = (q: number) => (d[Math.floor(q * d.length)]! / 1000).toFixed(1);
    const ev = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => l.split(" "));
    const gcs = (k: string) => ev.filter((e) => e[0] === "gc" && e[3] === k).map((e) => Number(e[2]));
    const maj = gcs("major"), min = gcs("minor");
    const gaps = ev.filter((e) => e[0] === "gap" && Number(e[1]) > 1000).map((e) => Number(e[2]));
    console.log(`${spec.label} r${round}: ${rps} rps p50 ${p(0.5)} p99 ${p(0.99)} p999 ${p(0.999)} | major>2ms ${maj.length} (max ${Math.max(0, ...maj)}), minor>2ms ${min.length} (max ${Math.max(0, ...min)}) | gaps>8ms after 1s: ${gaps.length}, >20ms ${gaps.filter((g) => g > 20).length}, sum ${gaps.reduce((a, b) => a + b, 0).toFixed(0)}`);
  } finally { await s.stop(); }
}
