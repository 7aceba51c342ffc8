import { ConfigError, loadConfig } from "./config.js";
import { buildInteropApp } from "./interop-app.js";

// `npm run interop -- --port 10000`: configured as the product is (server/config.ts).
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, process.argv.slice(2));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  process.stderr.write(`simpletest interop: bad configuration: ${e.message}\n`);
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
