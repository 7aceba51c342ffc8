import { existsSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";

/** Where `vite build` puts the page (web/vite.config.ts), whether this runs from server/ or dist/server/. */
export const builtPageDir = join(packageRoot(fileURLToPath(import.meta.url)), "web", "dist");

function packageRoot(from: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export interface WebPageOptions {
  /** The built page; `builtPageDir` unless a test points elsewhere. */
  readonly root?: string;
  /** Origins the page may call besides its own: the servers its `?api=` may name. */
  readonly apiOrigins?: readonly string[];
}

/**
 * The page runs only its own scripts and styles and calls only its own origin
 * and `apiOrigins`: an injected script could neither run nor send anything
 * elsewhere. The favicon is a `data:` URL. No site may frame the page.
 */
export function securityHeaders(apiOrigins: readonly string[]): Record<string, string> {
  const csp = [
    "default-src 'self'",
    `connect-src ${["'self'", ...apiOrigins].join(" ")}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ];
  return {
    "content-security-policy": csp.join("; "),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

/**
 * Serves the browser page at `/`. Vite names everything under assets/ by a
 * hash of its content, so those files may be cached for good; index.html and
 * the rest are revalidated on every load so a new build shows at once.
 */
export const webPage: FastifyPluginAsync<WebPageOptions> = async (app, { root = builtPageDir, apiOrigins = [] }) => {
  const headers = securityHeaders(apiOrigins);
  app.addHook("onSend", async (_request, reply) => {
    reply.headers(headers);
  });
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
