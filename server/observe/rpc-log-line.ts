import { pino } from "pino";
import { jsonNumber, jsonString } from "../json-text.js";

/** The least of a logger an RPC's line needs; pino's (Fastify's) fits. */
export interface RpcLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** An RPC's log line: these fields, in this order, then the message `rpc`. */
export interface RpcLine {
  readonly procedure: string;
  readonly protocol: string;
  readonly httpVersion: string | undefined;
  readonly code: string;
  readonly durationMs: number;
  readonly peer: string | undefined;
}

const symbols = pino.symbols;

/** A pino logger's state, as `pino.symbols` exposes it for integrations like this one. */
interface PinoState {
  readonly [symbols.chindingsSym]: string;
  readonly [symbols.endSym]: string;
  readonly [symbols.formattersSym]: { readonly log?: unknown };
  readonly [symbols.hooksSym]: { readonly streamWrite?: unknown };
  readonly [symbols.lsCacheSym]: Readonly<Record<number, string>>;
  readonly [symbols.messageKeySym]: string;
  readonly [symbols.mixinSym]: unknown;
  readonly [symbols.nestedKeySym]: unknown;
  readonly [symbols.serializersSym]: object;
  readonly [symbols.streamSym]: { write(line: string): unknown; readonly [symbols.needsMetadataGsym]?: boolean };
  readonly [symbols.stringifiersSym]: object;
  readonly [symbols.timeSym]: () => string;
  readonly msgPrefix: string | undefined;
  isLevelEnabled(level: string): boolean;
}

/**
 * The fields that name a kind of call, the same for every call of that kind:
 * their JSON is made once per kind, so `kindJson` must tell kinds apart by all of them.
 */
const kindFields = ["procedure", "protocol", "httpVersion", "code"] as const;
/** The fields of each call, after the kind's. */
const callFields = ["durationMs", "peer"] as const;
const fieldNames = [...kindFields, ...callFields];

/**
 * The settings last judged by `isPlain`, and the verdict. A child shares its
 * parent's settings objects, but for its formatters, which pino builds anew
 * for each child made with options (Fastify's request loggers): of those, the
 * log formatter it keeps is the one judged.
 */
let judged:
  | { logFormatter: unknown; serializers: object; stringifiers: object; hooks: object; plain: boolean }
  | undefined;

/**
 * Whether pino would write a line of these fields as they are: no hook,
 * formatter, mixin, nesting or prefix changes it, and no serializer or
 * redaction applies to its fields.
 */
function isPlain(log: PinoState): boolean {
  if (
    log[symbols.mixinSym] ||
    log[symbols.nestedKeySym] ||
    log.msgPrefix ||
    log[symbols.streamSym][symbols.needsMetadataGsym] === true
  )
    return false;
  const logFormatter = log[symbols.formattersSym].log;
  const serializers = log[symbols.serializersSym] as Readonly<Record<string, unknown>>;
  const stringifiers = log[symbols.stringifiersSym];
  const hooks = log[symbols.hooksSym];
  if (
    judged === undefined ||
    judged.logFormatter !== logFormatter ||
    judged.serializers !== serializers ||
    judged.stringifiers !== stringifiers ||
    judged.hooks !== hooks
  ) {
    const plain =
      logFormatter === undefined &&
      hooks.streamWrite === undefined &&
      Reflect.ownKeys(stringifiers).length === 0 &&
      [...fieldNames, log[symbols.messageKeySym]].every((name) => serializers[name] === undefined);
    judged = { logFormatter, serializers, stringifiers, hooks, plain };
  }
  return judged.plain;
}

function isPino(log: RpcLogger): log is RpcLogger & PinoState {
  return symbols.streamSym in log && symbols.chindingsSym in log;
}

/**
 * Writes an RPC's line as `log[level](line, "rpc")` would. For a pino logger
 * with plain settings (Fastify's) it builds the line itself from pino's own
 * pieces (level prefix, time, bindings, end, stream), the same bytes for a
 * fraction of the cost: pino's general path looks up serializers and
 * stringifiers for every field and cost ~3 µs of an RPC's ~45 under load
 * (bench/README.md, step 19). Any other logger, or setting, gets the call.
 * One difference: a lone surrogate is escaped, as JSON.stringify does, where
 * pino before Node 25 writes it as it is in a field of up to 100 characters
 * and UTF-8 makes it U+FFFD.
 */
export function logRpc(log: RpcLogger, level: "info" | "error", line: RpcLine): void {
  if (!isPino(log) || !isPlain(log)) {
    log[level](line, "rpc");
    return;
  }
  if (!log.isLevelEnabled(level)) return;
  const levelNumber = pino.levels.values[level];
  log[symbols.streamSym].write(
    `${log[symbols.lsCacheSym][levelNumber]}${log[symbols.timeSym]()}${log[symbols.chindingsSym]}${kindJson(line)}${fieldsJson(line, callFields)},"${log[symbols.messageKeySym]}":"rpc"${log[symbols.endSym]}`,
  );
}

/** The JSON of each field that is not undefined, as pino writes it: `,"name":value`. */
function fieldsJson(line: RpcLine, names: readonly (keyof RpcLine)[]): string {
  let json = "";
  for (const name of names) {
    const value = line[name];
    if (value !== undefined) json += `,"${name}":${typeof value === "number" ? jsonNumber(value) : jsonString(value)}`;
  }
  return json;
}

/** A kind of call, with its fields' JSON. */
type Kind = Pick<RpcLine, "protocol" | "httpVersion" | "code"> & { readonly json: string };

/** The kinds seen, by procedure: a server's procedures are few, and each has a few kinds (protocols, HTTP versions, codes). */
const kinds = new Map<string, Kind[]>();
/**
 * Past these, kinds are written afresh each time (after the scan, for a procedure's kinds past its
 * 32nd), so that the table stays small whatever a caller passes.
 */
const maxProcedures = 256;
const maxKindsPerProcedure = 32;

/** `fieldsJson` of the kind fields, made once per kind of call. */
function kindJson(line: RpcLine): string {
  let known = kinds.get(line.procedure);
  if (known === undefined && kinds.size < maxProcedures) {
    known = [];
    kinds.set(line.procedure, known);
  }
  if (known === undefined) return fieldsJson(line, kindFields);
  for (const kind of known) {
    if (kind.code === line.code && kind.protocol === line.protocol && kind.httpVersion === line.httpVersion) {
      return kind.json;
    }
  }
  const json = fieldsJson(line, kindFields);
  if (known.length < maxKindsPerProcedure) {
    known.push({ protocol: line.protocol, httpVersion: line.httpVersion, code: line.code, json });
  }
  return json;
}
