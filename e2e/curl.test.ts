import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type RunningServer, startServer } from "./support/server.js";

const run = promisify(execFile);

/** Each ```sh block of the README that calls curl, with the ```text block that follows it. */
function readmeCurlRecipes(): { command: string; output: string }[] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const pairs = readme.matchAll(/```sh\n([^`]*)```\s*```text\n([^`]*)```/g);
  return [...pairs]
    .map(([, command, output]) => ({ command, output }))
    .filter(({ command }) => /^\s*curl /m.test(command));
}

describe("the README's curl recipes work as written", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  const recipes = readmeCurlRecipes();
  it("the README has the recipes this test expects", () => {
    assert.ok(recipes.length >= 4, `found ${recipes.length} curl recipes`);
  });

  for (const { command, output } of recipes) {
    it(command.split("\n")[0], async () => {
      assert.match(command, /http:\/\/127\.0\.0\.1:8080\//);
      const onTestPort = command.replaceAll("http://127.0.0.1:8080/", `${server.url}/`);
      const { stdout } = await run("bash", ["-o", "pipefail", "-c", onTestPort], { timeout: 10_000 });
      // curl prints no newline after a unary answer; the README block ends with one.
      assert.equal(stdout.trimEnd(), output.trimEnd());
    });
  }
});
