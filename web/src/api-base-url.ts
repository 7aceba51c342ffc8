import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Where the page sends its calls: its own origin, or the server named by the
 * `api` query parameter (`/?api=http://127.0.0.1:8080`) when the page is
 * served from elsewhere. That server must list the page's origin in
 * CORS_ORIGINS, or the browser refuses its answers.
 */
export function apiBaseUrl(location: Location): string {
  const api = new URLSearchParams(location.search).get("api");
  if (!api) return location.origin;
  const url = URL.canParse(api) ? new URL(api) : undefined;
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new ConnectError(`?api= must be an http or https URL, got "${api}"`, Code.InvalidArgument);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
