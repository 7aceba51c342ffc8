import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { type FastifyInstance, fastify } from "fastify";
import { buildApp } from "./app.js";
import { loadConfig } from "./config.js";
import { lazySchemaController } from "./lazy-schema-compilers.js";

/** The modules loaded in this process (each test file runs in its own) whose path holds `part`. */
function loaded(part: string): string[] {
  return Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes(part));
}

/** A route that declares body, query and response schemas, as a later route of this server might. */
function withSchemaRoute(app: FastifyInstance): FastifyInstance {
  app.post(
    "/check",
    {
      schema: {
        body: { type: "object", required: ["n"], properties: { n: { type: "integer", minimum: 1 } } },
        querystring: { type: "object", properties: { v: { type: "boolean" } } },
        response: { 200: { type: "object", properties: { n: { type: "integer" } } } },
      },
    },
    async (request) => ({ ...(request.body as object), secret: "not in the schema" }),
  );
  return app;
}

const requests = [
  { payload: { n: 3 } },
  { payload: { n: "3" } },
  { payload: { n: 0 } },
  { payload: {} },
  { payload: { n: 2 }, query: { v: "maybe" } },
  { payload: "not json", headers: { "content-type": "application/json" } },
];

describe("lazySchemaController", () => {
  it("leaves a fresh server, its admin port's app too, without Fastify's schema compilers", async () => {
    // Built, not listening: the admin port only has to differ from the public one.
    const app = await buildApp(loadConfig({ LOG_LEVEL: "silent", HOST: "127.0.0.1", PORT: "0", ADMIN_PORT: "9" }));
    try {
      assert.ok(app.admin);
      assert.notDeepEqual(loaded("/node_modules/fastify/"), [], "Fastify's own requires are seen");
      assert.deepEqual(loaded("/node_modules/ajv/"), []);
      assert.deepEqual(loaded("/node_modules/@fastify/ajv-compiler/"), []);
      assert.deepEqual(loaded("/node_modules/@fastify/fast-json-stringify-compiler/"), []);
    } finally {
      await Promise.all([app.fastify.close(), app.admin?.close()]);
    }
  });

  it("loads them for the first route with a schema, which then answers as with Fastify's defaults", async () => {
    const lazy = withSchemaRoute(fastify({ schemaController: lazySchemaController() }));
    assert.deepEqual(loaded("/node_modules/ajv/"), []);
    await lazy.ready();
    assert.notDeepEqual(loaded("/node_modules/ajv/"), []);
    // Made after: Fastify's defaults load ajv as it is created.
    const eager = withSchemaRoute(fastify());
    await eager.ready();
    for (const request of requests) {
      const [fromLazy, fromEager] = await Promise.all(
        [lazy, eager].map((app) => app.inject({ method: "POST", url: "/check", ...request })),
      );
      assert.equal(fromLazy.statusCode, fromEager.statusCode, JSON.stringify(request));
      assert.equal(fromLazy.body, fromEager.body, JSON.stringify(request));
    }
    const answer = await lazy.inject({ method: "POST", url: "/check", payload: { n: 3 } });
    assert.deepEqual(answer.json(), { n: 3 });
    assert.equal((await lazy.inject({ method: "POST", url: "/check", payload: { n: 0 } })).statusCode, 400);
    await Promise.all([lazy.close(), eager.close()]);
  });

  it("refuses a plain-object headers schema, so ready() rejects naming its route, and takes any other", async () => {
    const app = fastify({ schemaController: lazySchemaController() });
    app.get("/guarded", { schema: { headers: { type: "object", required: ["X-Api-Key"] } } }, async () => "ok");
    await assert.rejects(async () => await app.ready(), /GET: \/guarded.*a headers schema is not taken here/);
    await app.close();
    const other = fastify({ schemaController: lazySchemaController() });
    other.get(
      "/params/:n",
      { schema: { params: { type: "object", properties: { n: { type: "integer" } } } } },
      async () => "ok",
    );
    // A schema that is not a plain object Fastify compiles as written for its own compilers too.
    other.get("/open", { schema: { headers: true } }, async () => "ok");
    // One compiled at request time cannot be told from a route's: refused too, failing its request.
    other.get("/compiles", async (request) => {
      request.compileValidationSchema({ type: "object" }, "headers");
      return "ok";
    });
    await other.ready();
    assert.equal((await other.inject("/params/7")).statusCode, 200);
    assert.equal((await other.inject("/params/seven")).statusCode, 400);
    assert.equal((await other.inject("/open")).statusCode, 200);
    const compiled = await other.inject("/compiles");
    assert.equal(compiled.statusCode, 500);
    assert.match(compiled.json().message, /a headers schema is not taken here/);
    await other.close();
  });

  it("is needed: Fastify matches the headers schema of compilers it is given as written", async () => {
    // Fastify's own validator factory, handed over without the refusal, as any given compiler is.
    const ajvCompiler = createRequire(import.meta.resolve("fastify"))("@fastify/ajv-compiler") as () => never;
    const route = (app: FastifyInstance) =>
      app.get("/key", { schema: { headers: { type: "object", required: ["X-Api-Key"] } } }, async () => "ok");
    const given = fastify({ schemaController: { compilersFactory: { buildValidator: ajvCompiler() } } });
    const own = fastify();
    route(given);
    route(own);
    const request = { url: "/key", headers: { "X-Api-Key": "1" } };
    assert.equal((await own.inject(request)).statusCode, 200);
    assert.equal((await given.inject(request)).statusCode, 400);
    await Promise.all([given.close(), own.close()]);
  });
});
