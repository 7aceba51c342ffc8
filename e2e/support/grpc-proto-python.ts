import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
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
 * `grpc.health...` would collide with grpcio's own `grpc` module. So files that
 * import each other (`grpc/testing/test.proto` imports `grpc/testing/empty.proto`)
 * are compiled from copies that import them by file name.
 */
export function makePythonStubs(protoFiles: readonly string[]): PythonStubs {
  const dir = mkdtempSync(join(tmpdir(), "simpletest-grpc-proto-"));
  const sources = join(dir, "proto");
  mkdirSync(sources);
  for (const file of protoFiles) {
    const text = readFileSync(join(grpcProtoDir, file), "utf8").replace(
      /^import "([^"]+)";/gm,
      (line, imported: string) => (protoFiles.includes(imported) ? `import "${basename(imported)}";` : line),
    );
    writeFileSync(join(sources, basename(file)), text);
  }
  execFileSync(
    "protoc",
    [
      `-I${sources}`,
      `--python_out=${dir}`,
      `--grpc_python_out=${dir}`,
      "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
      ...protoFiles.map((file) => join(sources, basename(file))),
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Runs one of the scripts in e2e/python/ with the stubs on its path. A script the
 * timeout ends prints every thread's Python stack to stderr first (faulthandler on
 * SIGABRT), so a hang says where it waits.
 */
export function runPythonScript(
  script: string,
  args: readonly string[],
  stubs: PythonStubs,
  options: Omit<RunOptions, "env"> = {},
): Promise<CommandResult> {
  return runCommand(python, ["-X", "faulthandler", join(scriptsDir, script), ...args], {
    killSignal: "SIGABRT",
    ...options,
    env: { ...process.env, PYTHONPATH: stubs.dir, PYTHONDONTWRITEBYTECODE: "1" },
  });
}
