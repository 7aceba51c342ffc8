import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CommandResult, type RunOptions, runCommand } from "./run-command.js";

/** Debian's python3-grpcio runs with Debian's python, not whichever python3 is first on PATH. */
const python = "/usr/bin/python3";
const grpcProtoDir = "/usr/share/grpc-proto";
const scriptsDir = fileURLToPath(new URL("../python/", import.meta.url));

export interface PythonStubs {
  /** Put on PYTHONPATH. */
  readonly dir: string;
  remove(): void;
}

/**
 * Makes grpcio stubs of Debian's grpc-proto files (e.g. `grpc/health/v1/health.proto`)
 * in a new temporary directory, with Debian's protoc and grpc_python_plugin. The
 * modules are flat (`health_pb2`, `health_pb2_grpc`): under their package path,
 * `grpc.health...` would collide with grpcio's own `grpc` module.
 */
export function makePythonStubs(protoFiles: readonly string[]): PythonStubs {
  const dir = mkdtempSync(join(tmpdir(), "simpletest-grpc-proto-"));
  for (const file of protoFiles) {
    const path = join(grpcProtoDir, file);
    execFileSync(
      "protoc",
      [
        `-I${dirname(path)}`,
        `--python_out=${dir}`,
        `--grpc_python_out=${dir}`,
        "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
        path,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs one of the scripts in e2e/python/ with the stubs on its path. */
export function runPythonScript(
  script: string,
  args: readonly string[],
  stubs: PythonStubs,
  options: Omit<RunOptions, "env"> = {},
): Promise<CommandResult> {
  return runCommand(python, [join(scriptsDir, script), ...args], {
    ...options,
    env: { ...process.env, PYTHONPATH: stubs.dir, PYTHONDONTWRITEBYTECODE: "1" },
  });
}
