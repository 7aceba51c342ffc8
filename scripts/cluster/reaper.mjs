// Stops the cluster's processes when the process that started them is gone,
// however it went: SIGKILL and crashes included, which no handler of its own
// can catch. Plain JavaScript, so that plain node runs it, without tsx.
//
// Reads lines from stdin: `+PID` for a process group to watch (each replica
// and HAProxy lead their own), `-PID` for one that ended, `rm PATH` for a
// directory its owner removes when done. When stdin ends (its parent closed it
// or died), sends SIGTERM to every group still watched, SIGKILL to those still
// alive after `graceMs` (argv[2]), removes the directories, and exits.
import { rmSync } from "node:fs";
import { createInterface } from "node:readline";

const graceMs = Number(process.argv[2] ?? 10_000);
const groups = new Set();
const directories = new Set();

const alive = (pid) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};
const signal = (pid, name) => {
  try {
    process.kill(-pid, name);
  } catch {
    // Gone already.
  }
};

createInterface({ input: process.stdin })
  .on("line", (line) => {
    if (line.startsWith("rm /")) {
      directories.add(line.slice(3));
      return;
    }
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 0) return;
    if (line.startsWith("+")) groups.add(pid);
    else groups.delete(pid);
  })
  .on("close", () => {
    for (const pid of groups) signal(pid, "SIGTERM");
    const started = Date.now();
    const poll = setInterval(() => {
      const left = [...groups].filter(alive);
      if (left.length > 0 && Date.now() - started < graceMs) return;
      for (const pid of left) signal(pid, "SIGKILL");
      clearInterval(poll);
      for (const path of directories) rmSync(path, { recursive: true, force: true });
    }, 100);
  });
