import { type DescField, ScalarType } from "@bufbuild/protobuf";

/** The kinds of field that the lane's own binary writer and reader take (sized-binary.ts, plain-binary.ts). */
export type Kind = "string" | "bytes" | "bool" | "int32" | "uint32" | "message";

const scalars: Partial<Record<ScalarType, Kind>> = {
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.BOOL]: "bool",
  [ScalarType.INT32]: "int32",
  [ScalarType.UINT32]: "uint32",
};

/**
 * The kind of a field, or undefined if it is not one they take: a singular
 * field, not in a oneof, of one of these types, an enum (an int32 on the
 * wire), or a message (not a google.protobuf type, which protobuf-es holds in
 * a form of its own, nor one in the delimited encoding). Each takes fewer
 * still: the writer only fields of explicit or implicit presence, the reader
 * no closed enum.
 */
export function kindOf(field: DescField): Kind | undefined {
  if (field.oneof !== undefined) return undefined;
  switch (field.fieldKind) {
    case "scalar":
      return scalars[field.scalar];
    case "enum":
      return "int32";
    case "message":
      return field.delimitedEncoding || field.message.typeName.startsWith("google.protobuf.") ? undefined : "message";
    default:
      return undefined;
  }
}

/** Whether the kind's values are length-delimited on the wire (else a varint). */
export const isLengthDelimited = (kind: Kind): boolean => kind === "string" || kind === "bytes" || kind === "message";
