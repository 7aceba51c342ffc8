import { type DescMessage, toJsonString } from "@bufbuild/protobuf";
import { getJsonOptions } from "@connectrpc/connect/protocol";
import type { Options } from "./choose-call.js";
import { plainJsonWriter } from "./plain-json.js";

/**
 * A JSON answer, as text or as bytes. The lane keeps a Connect JSON answer
 * text: over HTTP/1.1, Node then writes head and body as one string, where
 * bytes take a gathered write of the two (Node 24: 73 against 66 µs of CPU
 * per Connect JSON call over HTTP/1.1, bench/README.md step 34).
 */
export type JsonAnswer = (message: unknown) => string | Uint8Array;

/**
 * The answer connect-es's JSON serialization (`serialize`, with its size
 * limit) gives, as the text it encodes: `toJsonString` with the same
 * options (plain-json.ts where it writes the message). That text's UTF-8 is
 * the serialization's bytes, since `JSON.stringify` escapes every lone
 * surrogate. Anything else goes to `serialize` itself, for its bytes or its
 * error: a message the text cannot be made of, one over `writeMaxBytes`, and
 * every message when the options bring a TextEncoder of their own.
 */
export function jsonAnswer(desc: DescMessage, serialize: (message: unknown) => Uint8Array, opt: Options): JsonAnswer {
  // connect-es's serialization takes one from the JSON options, though their type does not show it.
  if (Reflect.get(opt.jsonOptions ?? {}, "textEncoder") !== undefined) return serialize;
  const options = getJsonOptions(opt.jsonOptions);
  const plain = plainJsonWriter(desc, options);
  return (message) => {
    let text = plain?.(message);
    if (text === undefined) {
      try {
        text = toJsonString(desc, message as never, options);
      } catch {
        // serialize below says why, as connect-es says it.
      }
    }
    return text !== undefined && fits(text, opt.writeMaxBytes) ? text : serialize(message);
  };
}

/**
 * Whether `text`'s UTF-8 takes at most `maxBytes`. The answer's writer
 * measures it exactly anyway; this measures only the text that may be near
 * the limit, since a UTF-16 unit never takes more than 3 bytes.
 */
function fits(text: string, maxBytes: number): boolean {
  return text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes;
}
