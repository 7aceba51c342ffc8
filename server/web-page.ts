import { existsSync } from "node:fs";
import { join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

/** Where `vite build` puts the page (web/vite.config.ts). */
export const builtPageDir = fileURLToPath(new URL("../web/dist/", import.meta.url));

export interface WebPageOptions {
  /** The built page; `builtPageDir` unless a test points elsewhere. */
  readonly root?: string;
}

/**
 * Serves the browser page at `/`. Vite names everything under assets/ by a
 * hash of its content, so those files may be cached for good; index.html and
 * the rest are revalidated on every load so a new build shows at once.
 */
export const webPage: FastifyPluginAsync<WebPageOptions> = async (app, { root = builtPageDir }) => {
  if (!existsSync(join(root, "index.html"))) {
    app.get("/", (_request, reply) =>
      reply
        .code(503)
        .type("text/plain; charset=utf-8")
        .send("The page is not built: run `npm run build:web` (`npm start` builds it when needed).\n"),
    );
    return;
  }
  const hashedAssets = join(root, "assets") + sep;
  await app.register(fastifyStatic, {
    root,
    decorateReply: false,
    cacheControl: false,
    setHeaders: (res, path) => {
      res.setHeader(
        "cache-control",
        path.startsWith(hashedAssets) ? "public, max-age=31536000, immutable" : "no-cache",
      );
    },
  });
};
