import net from "node:net";
import { http2Preface } from "../../server/listen/http2-preface.js";

/**
 * A hand-written HTTP/2 client over a plain socket, for what no real client
 * does: it sends its own SETTINGS but never acknowledges the server's, so the
 * server's limits are not yet in force in nghttp2's eyes.
 */

const frameTypes = { headers: 1, rstStream: 3, settings: 4, goaway: 7, continuation: 9 } as const;
const maxFramePayload = 16_384;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `n`-bit prefix whose other bits are `high`. */
function hpackInteger(value: number, n: number, high: number): Buffer {
  const max = 2 ** n - 1;
  if (value < max) return Buffer.of(high | value);
  const bytes = [high | max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

const hpackString = (s: string) => Buffer.concat([hpackInteger(s.length, 7, 0), Buffer.from(s, "latin1")]);

/** Every field as a literal without indexing, with a literal name: no table state to track. */
function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(fields.flatMap(([name, value]) => [Buffer.of(0), hpackString(name), hpackString(value)]));
}

/** HEADERS, then CONTINUATION frames as needed, ending the stream. */
function headersFrames(streamId: number, fields: readonly (readonly [string, string])[]): Buffer {
  const block = headerBlock(fields);
  const frames: Buffer[] = [];
  for (let at = 0; at < block.length || at === 0; at += maxFramePayload) {
    const last = at + maxFramePayload >= block.length;
    const endHeaders = last ? 0x4 : 0;
    const chunk = block.subarray(at, at + maxFramePayload);
    frames.push(
      at === 0
        ? frame(frameTypes.headers, 0x1 | endHeaders, streamId, chunk)
        : frame(frameTypes.continuation, endHeaders, streamId, chunk),
    );
  }
  return Buffer.concat(frames);
}

/** The static table's statuses (RFC 7541, appendix A). */
const indexedStatus: Readonly<Record<number, number>> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/** `:status` from the first field of a response's header block, as Node's server encodes it. */
function statusOf(block: Buffer): number {
  const first = block[0] as number;
  if (first & 0x80) return indexedStatus[first & 0x7f] ?? Number.NaN;
  // A literal whose name is static entry 8 (`:status`), with or without indexing.
  const nameIndex = first & 0x40 ? first & 0x3f : first & 0x0f;
  if (nameIndex !== 8) return Number.NaN;
  const length = (block[1] as number) & 0x7f;
  return Number(block.subarray(2, 2 + length).toString("latin1"));
}

export type RawOutcome =
  | { readonly status: number }
  | { readonly reset: number }
  | { readonly goaway: number }
  | { readonly closed: true };

/**
 * Opens a connection, sends SETTINGS without acknowledging the server's, and
 * one request with `fields` (pseudo-headers first, as the caller gives them).
 * Resolves with what the server did to the stream: answered (status),
 * reset it (error code), sent GOAWAY, or closed the connection.
 */
export function unacknowledgedRequest(
  port: number,
  fields: readonly (readonly [string, string])[],
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const done = (outcome: RawOutcome) => {
      resolve(outcome);
      socket.destroy();
    };
    socket.on("error", () => {});
    socket.once("close", () => done({ closed: true }));
    socket.once("connect", () => {
      socket.write(
        Buffer.concat([http2Preface, frame(frameTypes.settings, 0, 0, Buffer.alloc(0)), headersFrames(1, fields)]),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9) {
        const length = received.readUIntBE(0, 3);
        if (received.length < 9 + length) return;
        const type = received[3];
        const streamId = received.readUInt32BE(5) & 0x7fffffff;
        const payload = received.subarray(9, 9 + length);
        received = received.subarray(9 + length);
        if (type === frameTypes.headers && streamId === 1) return done({ status: statusOf(payload) });
        if (type === frameTypes.rstStream && streamId === 1) return done({ reset: payload.readUInt32BE(0) });
        if (type === frameTypes.goaway) return done({ goaway: payload.readUInt32BE(4) });
      }
    });
  });
}
