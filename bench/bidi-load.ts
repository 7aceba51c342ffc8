import http2 from "node:http2";
import { parseArgs } from "node:util";
import { warmUpSeconds } from "./h2load.js";
import { treeCpuSeconds } from "./process-usage.js";

/**
 * Drives bidi `PostAndPost` over gRPC from Node with the core http2 client (so
 * the client costs little): `sessions × streams` calls, each keeping `window`
 * messages in flight, for `seconds`. Prints {"rps", "p50Ms", "p99Ms", "failed",
 * "serverCpuSeconds"} where rps counts answered messages per second, and the
 * last is the CPU time the server (`--server-pid`) used in the measured window;
 * with `--signal-window`, the server gets SIGUSR2 as that window opens and closes.
 */
const { values } = parseArgs({
  options: {
    url: { type: "string" },
    seconds: { type: "string", default: "5" },
    sessions: { type: "string", default: "4" },
    streams: { type: "string", default: "16" },
    window: { type: "string", default: "4" },
    "server-pid": { type: "string" },
    "signal-window": { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const serverPid = Number(values["server-pid"]);
// RequestList{namelist:"world"} in its envelope.
const message = Buffer.from([0, 0, 0, 0, 7, 0x0a, 5, ...Buffer.from("world")]);

let measuring = false;
let stopping = false;
let answered = 0;
let failed = 0;
const latencies: number[] = [];
const sessions: http2.ClientHttp2Session[] = [];
const calls: http2.ClientHttp2Stream[] = [];

function call(session: http2.ClientHttp2Session): void {
  const stream = session.request({
    ":method": "POST",
    ":path": "/simpletest.SimpleTest/PostAndPost",
    "content-type": "application/grpc",
    te: "trailers",
  });
  calls.push(stream);
  const sentAt: number[] = [];
  const send = () => {
    if (stopping) return;
    sentAt.push(performance.now());
    stream.write(message);
  };
  let pending: Buffer = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      pending = pending.subarray(5 + pending.readUInt32BE(1));
      const started = sentAt.shift() ?? 0;
      if (measuring) {
        answered++;
        latencies.push(performance.now() - started);
      }
      send();
    }
  });
  stream.on("trailers", (trailers) => {
    if (trailers["grpc-status"] !== "0") failed++;
  });
  stream.on("error", () => failed++);
  for (let i = 0; i < Number(values.window); i++) send();
}

for (let s = 0; s < Number(values.sessions); s++) {
  const session = http2.connect(String(values.url));
  session.on("error", () => failed++);
  sessions.push(session);
  for (let i = 0; i < Number(values.streams); i++) call(session);
}

// The warm-up h2load has, then the measured window.
await new Promise((resolve) => setTimeout(resolve, warmUpSeconds * 1000));
measuring = true;
if (values["signal-window"]) process.kill(serverPid, "SIGUSR2");
const start = performance.now();
const cpuAtStart = treeCpuSeconds(serverPid);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
measuring = false;
if (values["signal-window"]) process.kill(serverPid, "SIGUSR2");
const serverCpuSeconds = treeCpuSeconds(serverPid) - cpuAtStart;
const elapsed = (performance.now() - start) / 1000;
// Each call ends as a client ends it (half-close, then the server's trailers), not cut with its connection.
stopping = true;
await Promise.race([
  Promise.all(
    calls.map((call) => {
      call.end();
      return new Promise((resolve) => call.once("close", resolve));
    }),
  ),
  new Promise((resolve) => setTimeout(resolve, 5000)),
]);
for (const session of sessions) session.destroy();
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ rps: answered / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), failed, serverCpuSeconds })}\n`,
);
