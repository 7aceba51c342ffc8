import { ConfigError, loadConfig } from "./config.js";
import { buildInteropApp } from "./interop-app.js";
import { writeStderrLine } from "./stderr-line.js";

// `npm run interop -- --port 10000`: configured as the product is (server/config.ts).
let config: ReturnType<typeof loadConfig>;
try {
  const { useTls, rest } = takeUseTls(process.argv.slice(2));
  config = loadConfig(process.env, rest);
  if (useTls !== undefined && useTls !== (config.tls !== undefined)) {
    throw new ConfigError(`--use_tls=${useTls} needs TLS_CERT and TLS_KEY ${useTls ? "set" : "unset"}`);
  }
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  writeStderrLine(`simpletest interop: bad configuration: ${e.message}`);
  process.exit(2);
}

const { fastify } = await buildInteropApp(config);
await fastify.listen({ host: config.host, port: config.port });

const stop = async () => {
  await fastify.close();
  process.exit(0);
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);

/**
 * gRPC's interop harnesses start a server with `--port=N --use_tls=BOOL`; here
 * the certificate comes from TLS_CERT and TLS_KEY, so the flag only has to agree.
 */
function takeUseTls(argv: readonly string[]): { useTls?: boolean; rest: string[] } {
  const flag = argv.find((arg) => arg.startsWith("--use_tls="));
  const rest = argv.filter((arg) => arg !== flag);
  if (flag === undefined) return { rest };
  const value = flag.slice("--use_tls=".length);
  if (value !== "true" && value !== "false") throw new ConfigError(`--use_tls must be true or false, got "${value}"`);
  return { useTls: value === "true", rest };
}
