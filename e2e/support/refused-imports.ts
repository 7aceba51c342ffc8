/**
 * NODE_OPTIONS for a spawned server in which any import whose specifier
 * matches `pattern` (a regular expression's source) throws: a server that
 * starts and serves with them never loaded what it matches.
 */
export function refusingImports(pattern: string): string {
  const hooks = `export async function resolve(specifier, context, next) {
    if (new RegExp(${JSON.stringify(pattern)}).test(specifier)) throw new Error("imported " + specifier);
    return next(specifier, context);
  }`;
  const register = `import { register } from "node:module";
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return `--import=data:text/javascript,${encodeURIComponent(register)}`;
}
