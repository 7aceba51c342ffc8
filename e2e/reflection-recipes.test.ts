import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { delimiter } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runCommand } from "./support/run-command.js";
import { type RunningServer, startServer } from "./support/server.js";

const recipesFile = new URL("../README.md", import.meta.url);
const binDir = fileURLToPath(new URL("../node_modules/.bin/", import.meta.url));
const hasGrpcurl = spawnSync("grpcurl", ["-version"]).error === undefined;

/** Each ```sh block of the README that runs grpcurl or buf curl, with the ```text block that follows it, if any. */
function recipes(): { command: string; output?: string }[] {
  const text = readFileSync(recipesFile, "utf8");
  return [...text.matchAll(/```sh\n([^`]*)```(?:\s*```text\n([^`]*)```)?/g)]
    .map(([, command, output]) => ({ command, output }))
    .filter(({ command }) => /^(grpcurl|buf curl) /.test(command));
}

describe("the grpcurl and buf curl recipes work as written", () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server?.close());

  it("give each tool a recipe for every SimpleTest method", () => {
    const commands = recipes().map((recipe) => recipe.command);
    for (const tool of ["grpcurl -plaintext", "buf curl"]) {
      for (const method of ["GetOne", "GetList", "PostList", "PostAndPost"].map((m) => `SimpleTest/${m}`)) {
        assert.ok(
          commands.some((command) => command.startsWith(tool) && command.includes(method)),
          `no ${tool} recipe for ${method}`,
        );
      }
    }
  });

  for (const { command, output } of recipes()) {
    if (output === undefined) continue;
    const skip = command.startsWith("grpcurl") && !hasGrpcurl ? "grpcurl is not installed" : false;
    it(command.split("\n")[0], { skip }, async () => {
      assert.match(command, /127\.0\.0\.1:8080/);
      const onTestPort = command.replaceAll("127.0.0.1:8080", `127.0.0.1:${server.port}`);
      const result = await runCommand("bash", ["-o", "pipefail", "-c", onTestPort], {
        env: { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH}` },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trimEnd(), output.trimEnd());
    });
  }
});
