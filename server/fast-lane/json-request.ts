import type { DescMessage } from "@bufbuild/protobuf";
import { getJsonOptions } from "@connectrpc/connect/protocol";
import type { Options } from "./choose-call.js";
import { plainJsonReader } from "./plain-json.js";

/** A Connect JSON request message, from its bytes. */
export type JsonRequest = (bytes: Uint8Array) => unknown;

/**
 * The message connect-es's JSON serialization (`parse`, with its size limit
 * and its errors) gives: plain-json.ts's where it reads the text that parse
 * decodes with the same TextDecoder, else `parse`'s own.
 */
export function jsonRequest(desc: DescMessage, parse: JsonRequest, opt: Options): JsonRequest {
  const plain = plainJsonReader(desc, getJsonOptions(opt.jsonOptions));
  if (plain === undefined) return parse;
  // connect-es's serialization takes one from the JSON options, though their type does not show it.
  const decoder: Pick<TextDecoder, "decode"> = Reflect.get(opt.jsonOptions ?? {}, "textDecoder") ?? new TextDecoder();
  return (bytes) => {
    let message: object | undefined;
    if (bytes.byteLength <= opt.readMaxBytes) {
      try {
        message = plain(decoder.decode(bytes));
      } catch {
        // parse below says why, as connect-es says it.
      }
    }
    return message ?? parse(bytes);
  };
}
