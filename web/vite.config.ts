import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// `npm run dev` serves the page with hot reload and forwards its calls to the
// API server, so the page keeps calling its own origin and needs no CORS.
const apiServer = process.env.API_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/simpletest.SimpleTest/": apiServer } },
});
