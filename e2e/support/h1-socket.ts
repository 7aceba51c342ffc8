import net from "node:net";

export interface H1Response {
  readonly status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** Milliseconds from the call of `nextResponse` to the last byte of the answer. */
  readonly afterMs: number;
}

/**
 * One raw HTTP/1.1 connection, as a keep-alive client drives it: write any
 * bytes (a request, part of one), read the answers one by one, and see
 * whether and when the server closed the connection.
 */
export class H1Socket {
  readonly #socket: net.Socket;
  #buffered = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #closedAt: number | undefined;
  readonly ready: Promise<void>;

  constructor(port: number) {
    this.#socket = net.connect(port, "127.0.0.1");
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once("connect", resolve);
      this.#socket.once("error", reject);
    });
    this.#socket.on("data", (chunk: Buffer) => {
      this.#buffered = Buffer.concat([this.#buffered, chunk]);
      this.#wake?.();
    });
    // A reset is a close as far as a client is concerned.
    this.#socket.on("error", () => {});
    this.#socket.on("close", () => {
      this.#closedAt = performance.now();
      this.#wake?.();
    });
  }

  write(bytes: string | Uint8Array): void {
    this.#socket.write(bytes);
  }

  get closed(): boolean {
    return this.#closedAt !== undefined;
  }

  /** Resolves once the server has closed the connection, or rejects after `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.closed) {
      if (performance.now() > deadline) throw new Error(`the connection is still open after ${timeoutMs} ms`);
      await this.#next(deadline);
    }
  }

  /** The next whole answer (Content-Length or chunked), or an error after `timeoutMs` or if the connection closes first. */
  async nextResponse(timeoutMs: number): Promise<H1Response> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const parsed = parseResponse(this.#buffered);
      if (parsed !== undefined) {
        this.#buffered = this.#buffered.subarray(parsed.length);
        return { ...parsed.response, afterMs: performance.now() - started };
      }
      if (this.closed) throw new Error("the server closed the connection without an answer");
      if (performance.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms`);
      await this.#next(deadline);
    }
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #next(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()) + 1);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

/** Builds a request's head: `POST path` with a Host and the given headers. */
export function requestHead(path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join("")}\r\n`;
}

function parseResponse(bytes: Buffer): { response: Omit<H1Response, "afterMs">; length: number } | undefined {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const [statusLine, ...lines] = bytes.subarray(0, headEnd).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(statusLine.split(" ")[1]);
  const bodyStart = headEnd + 4;
  if (headers["transfer-encoding"] === "chunked") {
    const chunks: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const sizeEnd = bytes.indexOf("\r\n", at);
      if (sizeEnd < 0) return undefined;
      const size = Number.parseInt(bytes.subarray(at, sizeEnd).toString("latin1"), 16);
      if (size === 0) {
        // Trailers (gRPC's status) end with an empty line, as an empty trailer section does.
        const end = bytes.indexOf("\r\n\r\n", sizeEnd);
        if (end < 0) return undefined;
        for (const line of bytes
          .subarray(sizeEnd + 2, end)
          .toString("latin1")
          .split("\r\n")) {
          const colon = line.indexOf(":");
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        return { response: { status, headers, body: Buffer.concat(chunks) }, length: end + 4 };
      }
      if (bytes.length < sizeEnd + 2 + size + 2) return undefined;
      chunks.push(bytes.subarray(sizeEnd + 2, sizeEnd + 2 + size));
      at = sizeEnd + 2 + size + 2;
    }
  }
  const length = Number(headers["content-length"] ?? 0);
  if (bytes.length < bodyStart + length) return undefined;
  return {
    response: { status, headers, body: bytes.subarray(bodyStart, bodyStart + length) },
    length: bodyStart + length,
  };
}
