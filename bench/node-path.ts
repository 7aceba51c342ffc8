import { resolveNode } from "./node-binary.js";

// `npx tsx bench/node-path.ts 24`: the path of Node 24's binary, fetched into the bench's cache
// if need be. CI runs the suite on it (.ci/run).
const wanted = process.argv[2];
if (wanted === undefined) throw new Error("usage: npx tsx bench/node-path.ts MAJOR|PATH");
process.stdout.write(`${resolveNode(wanted)}\n`);
