import { createRequire } from "node:module";
import type { FastifyServerOptions } from "fastify";

type SchemaController = NonNullable<FastifyServerOptions["schemaController"]>;
type CompilersFactory = NonNullable<SchemaController["compilersFactory"]>;
type ValidatorFactory = NonNullable<CompilersFactory["buildValidator"]>;
type SerializerFactory = NonNullable<CompilersFactory["buildSerializer"]>;

/** Resolved as Fastify resolves its own dependencies, wherever npm placed them. */
const requireAsFastify = createRequire(import.meta.resolve("fastify"));

/** A factory as Fastify calls it: with its schemas and options, for a compiler. */
type Factory = (...args: unknown[]) => unknown;
/** A validator compiler as Fastify calls it, for each part of a route's request. */
type Compile = (route: { readonly schema?: unknown; readonly httpPart?: string }) => unknown;

/** The factory `module` makes (one of Fastify's two defaults), made when Fastify first asks for a compiler. */
function onFirstUse(module: string): Factory {
  let factory: Factory | undefined;
  return (...args) => {
    factory ??= (requireAsFastify(module) as () => Factory)();
    return factory(...args);
  };
}

/**
 * Fastify's schema options with its own two compilers (ajv and
 * fast-json-stringify's) loaded when a route first declares a schema, rather
 * than as Fastify is created: about a hundred modules a server holds for
 * nothing, since no route here declares one (~1 MB of RSS fresh, by hand;
 * bench/README.md, step 76). They compile as Fastify's defaults do, with its
 * options, but for one thing: Fastify takes compilers it is given for
 * custom ones, and then matches a route's `headers` schema's names as
 * written where its defaults lower-case them. So a `headers` schema of the
 * kind Fastify would lower-case (a plain object) is refused, lest a name in
 * capitals quietly never match: declared by a route, it makes `ready()`
 * reject, naming the route, and the server does not start. The compiler
 * cannot tell a route's schema from one a handler compiles with
 * `request.compileValidationSchema(schema, "headers")`, which Fastify takes
 * as written either way: that one is refused too, failing its request.
 */
export function lazySchemaController(): SchemaController {
  const validators = onFirstUse("@fastify/ajv-compiler");
  const buildValidator: Factory = (...args) => {
    const compile = validators(...args) as Compile;
    return (route: Parameters<Compile>[0]) => {
      if (route.httpPart === "headers" && isPlainObject(route.schema)) {
        throw new Error(
          "a headers schema is not taken here: this server's schema compilers load on first use " +
            "(server/lazy-schema-compilers.ts), and Fastify would match its header names as written, " +
            "not lower-cased; check the header in the handler",
        );
      }
      return compile(route);
    };
  };
  return {
    compilersFactory: {
      buildValidator: buildValidator as ValidatorFactory,
      buildSerializer: onFirstUse("@fastify/fast-json-stringify-compiler") as SerializerFactory,
    },
  };
}

/** What Fastify lower-cases as a `headers` schema (fastify/lib/validation.js); other values it compiles as written. */
function isPlainObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
