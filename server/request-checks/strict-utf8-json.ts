import { isUtf8 } from "node:buffer";
import { Code, ConnectError } from "@connectrpc/connect";

const decoder = new TextDecoder();

/**
 * JSON options for connect-es (and so for the fast lane, which takes the same
 * options) that refuse a JSON request that is not valid UTF-8.
 *
 * connect-es decodes JSON bodies with a plain `TextDecoder`, which turns
 * invalid bytes into U+FFFD: a string the client never sent would reach the
 * handler, where the same bytes in a protobuf string are refused. Its JSON
 * serialization takes the decoder from these options (`createJsonSerialization`
 * in connect-es's protocol/serialization.ts); this one checks the bytes first
 * (simdutf, a fraction of the decoding's cost) and says `invalid_argument`, as
 * for any request the client must fix (e2e/attacks/malformed-bodies.test.ts).
 */
export const strictUtf8JsonOptions = {
  // connect-es's own default for requests, said here so that the options are recognisably JSON read options.
  ignoreUnknownFields: true,
  textDecoder: {
    decode(input?: Uint8Array): string {
      if (input !== undefined && !isUtf8(input)) {
        throw new ConnectError("the JSON request is not valid UTF-8", Code.InvalidArgument);
      }
      return decoder.decode(input);
    },
  },
};
