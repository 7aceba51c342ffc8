import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cors } from "@connectrpc/connect";
import fastifyCors from "@fastify/cors";
import { fastify } from "fastify";
import { type App, buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { corsOf } from "./cors.js";

describe("CORS_ORIGINS", () => {
  it("allows no other origin by default", () => {
    assert.deepEqual(loadConfig({}).corsOrigins, []);
  });

  it("reads comma-separated origins", () => {
    assert.deepEqual(loadConfig({ CORS_ORIGINS: "http://localhost:5173, https://example.com" }).corsOrigins, [
      "http://localhost:5173",
      "https://example.com",
    ]);
  });

  it("refuses a wildcard, and anything that is not an origin as browsers send it, in one line", () => {
    for (const value of [
      "*",
      "http://*.example.com",
      "localhost:5173",
      "http://localhost:5173/",
      "ftp://a.example",
      "",
    ]) {
      assert.throws(
        () => loadConfig({ CORS_ORIGINS: `http://ok.example,${value}` }),
        (e) => e instanceof ConfigError && e.message.startsWith("CORS_ORIGINS") && !e.message.includes("\n"),
        value,
      );
    }
    assert.throws(() => loadConfig({ CORS_ORIGINS: "HTTP://Example.com:80" }), /did you mean "http:\/\/example.com"/);
  });
});

describe("cross-origin calls", () => {
  const allowed = "http://localhost:5173";
  const path = "/simpletest.SimpleTest/GetOne";
  let app: App;
  before(async () => {
    app = await buildApp(loadConfig({ LOG_LEVEL: "silent", CORS_ORIGINS: allowed }));
  });
  after(() => app?.fastify.close());

  const preflight = (origin: string) =>
    app.fastify.inject({
      method: "OPTIONS",
      url: path,
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version",
      },
    });

  it("answers a preflight from a listed origin with what Connect and gRPC-Web send, and W3C Trace Context", async () => {
    const response = await preflight(allowed);
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers["access-control-allow-origin"], allowed);
    assert.equal(response.headers["access-control-allow-methods"], cors.allowedMethods.join(", "));
    assert.equal(
      response.headers["access-control-allow-headers"],
      [...cors.allowedHeaders, "traceparent", "tracestate"].join(", "),
    );
    assert.equal(response.headers["access-control-allow-credentials"], undefined);
  });

  it("lets a listed origin read the answer and the gRPC status headers", async () => {
    const response = await app.fastify.inject({
      method: "POST",
      url: path,
      headers: { origin: allowed, "content-type": "application/json" },
      payload: { hello: "x" },
    });
    assert.equal(response.json().result, "Hello !! x");
    assert.equal(response.headers["access-control-allow-origin"], allowed);
    assert.equal(response.headers["access-control-expose-headers"], cors.exposedHeaders.join(", "));
    assert.match(String(response.headers.vary), /origin/i);
  });

  it("gives any other origin no CORS headers, so its browser refuses the call", async () => {
    const response = await preflight("http://evil.example");
    assert.notEqual(response.statusCode, 204);
    assert.equal(response.headers["access-control-allow-origin"], undefined);
    assert.equal(response.headers["access-control-allow-methods"], undefined);
  });
});

describe("what CORS does to a call's answer, by its Origin (what the fast lane adds to its answers)", () => {
  const listed = "http://localhost:5173";
  for (const origins of [[], [listed]]) {
    for (const origin of [undefined, listed, "http://evil.example", "null"]) {
      it(`is what @fastify/cors does, with CORS_ORIGINS=${origins.join(",")} and Origin ${origin}`, async () => {
        const { options, headersFor } = corsOf(origins);
        const app = fastify();
        await app.register(fastifyCors, options);
        app.post("/", async () => "ok");
        const response = await app.inject({ method: "POST", url: "/", headers: origin ? { origin } : {} });
        await app.close();
        const added = Object.entries(response.headers).filter(
          ([name]) => name === "vary" || name.startsWith("access-control-"),
        );
        assert.deepEqual(Object.fromEntries(added), headersFor(origin));
        const readable = origin === listed && origins.includes(listed);
        assert.equal(headersFor(origin)["access-control-allow-origin"], readable ? listed : undefined);
        assert.equal(headersFor(origin).vary, "Origin");
      });
    }
  }
});
