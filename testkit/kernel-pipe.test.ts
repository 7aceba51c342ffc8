import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { spawnPipedTo } from "./kernel-pipe.js";

/** Runs `script` in sh through spawnPipedTo, the reader `cat`, and resolves with what came out and the exit. */
async function run(script: string, reader = ["cat"], readerApart = false) {
  const child = spawnPipedTo(reader, ["sh", "-c", script], { stdio: ["ignore", "pipe", "inherit"], readerApart });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (text: string) => (out += text));
  const [code, signal] = await once(child, "close");
  return { out, code, signal, pid: child.pid };
}

describe("spawnPipedTo", () => {
  it("gives the command a pipe for stdout, not a socket, and the reader's output back", async () => {
    const { out, code } = await run('[ -p /dev/stdout ] && echo "a pipe"; echo second');
    assert.equal(code, 0);
    assert.equal(out, "a pipe\nsecond\n");
  });

  it("is the command itself: its pid, and its exit code", async () => {
    const { out, code, pid } = await run("echo $$; exit 3");
    assert.equal(code, 3);
    assert.equal(out, `${pid}\n`);
  });

  it("leaves the reader out of the command's process tree with readerApart, and in it without", async () => {
    // `read`, a builtin: a command run to read the list would be on it.
    const children = 'read -r kids < /proc/$$/task/$$/children; echo "$kids"';
    assert.equal((await run(children, ["cat"], true)).out.trim(), "");
    assert.match((await run(children, ["cat"], false)).out.trim(), /^\d+$/);
  });
});
