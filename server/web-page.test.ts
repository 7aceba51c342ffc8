import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fastify } from "fastify";
import { webPage } from "./web-page.js";

describe("webPage", () => {
  let built: string;
  before(() => {
    built = mkdtempSync(join(tmpdir(), "web-page-"));
    mkdirSync(join(built, "assets"));
    writeFileSync(join(built, "index.html"), "<!doctype html><title>page</title>");
    writeFileSync(join(built, "assets", "index-Ab12Cd34.js"), "console.log(1);");
    writeFileSync(join(built, "assets", "index-Ef56Gh78.css"), "body{}");
  });
  after(() => rmSync(built, { recursive: true, force: true }));

  const serve = async (root: string) => {
    const app = fastify();
    await app.register(webPage, { root });
    return app;
  };

  it("serves index.html at / as HTML that browsers revalidate on every load", async () => {
    const app = await serve(built);
    const response = await app.inject("/");
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(response.headers["cache-control"], "no-cache");
    assert.ok(response.headers.etag, "no ETag to revalidate with");
    await app.close();
  });

  it("serves the hashed files under /assets/ with their content type, cacheable for good", async () => {
    const app = await serve(built);
    for (const [path, type] of [
      ["/assets/index-Ab12Cd34.js", "application/javascript; charset=utf-8"],
      ["/assets/index-Ef56Gh78.css", "text/css; charset=utf-8"],
    ]) {
      const response = await app.inject(path);
      assert.equal(response.statusCode, 200, path);
      assert.equal(response.headers["content-type"], type, path);
      assert.equal(response.headers["cache-control"], "public, max-age=31536000, immutable", path);
    }
    await app.close();
  });

  it("sends its security headers with the page and its assets: own origin only, no framing, no sniffing", async () => {
    const app = fastify();
    await app.register(webPage, { root: built, apiOrigins: ["https://api.example"] });
    for (const path of ["/", "/assets/index-Ab12Cd34.js"]) {
      const headers = (await app.inject(path)).headers;
      const csp = String(headers["content-security-policy"]);
      assert.match(csp, /(^|; )default-src 'self'(;|$)/, path);
      assert.match(csp, /(^|; )connect-src 'self' https:\/\/api\.example(;|$)/, path);
      assert.match(csp, /(^|; )frame-ancestors 'none'(;|$)/, path);
      assert.equal(headers["x-content-type-options"], "nosniff", path);
      assert.equal(headers["referrer-policy"], "no-referrer", path);
    }
    await app.close();
  });

  it("lets the page call only its own origin when no API origins are configured", async () => {
    const app = await serve(built);
    assert.match(String((await app.inject("/")).headers["content-security-policy"]), /connect-src 'self';/);
    await app.close();
  });

  it("answers 404 for a file the build does not have", async () => {
    const app = await serve(built);
    assert.equal((await app.inject("/assets/index-00000000.js")).statusCode, 404);
    await app.close();
  });

  it("says how to build the page when there is none, rather than a bare 404", async () => {
    const app = await serve(join(built, "missing"));
    const response = await app.inject("/");
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers["content-type"], "text/plain; charset=utf-8");
    assert.match(response.body, /npm run build:web/);
    await app.close();
  });
});
