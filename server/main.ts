import { buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`simpletest: bad configuration: ${e.message}\n`);
  process.exit(2);
}

const { fastify, front } = await buildApp(config);
await fastify.listen({ host: config.host, port: config.port });

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  fastify.log.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
  // Streams are cancelled when the grace period ends; connections that still
  // linger after that (a peer that never reads its GOAWAY) are cut.
  const cut = setTimeout(() => front.destroyConnections(), config.shutdownGraceMs + 2_000);
  cut.unref();
  await fastify.close();
  fastify.log.info("stopped");
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
