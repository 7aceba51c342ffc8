import v8 from "node:v8";
import { StreamTable } from "./stream-table.js";

/*
 * Run with `node --expose-gc`. With `map` or `table`: streams come and go, 16
 * open at a time, in a table that has lived into the old generation, as on a
 * busy HTTP/2 connection; prints the bytes the scavenges between the batches
 * promoted to the old generation. With `released`: 100 streams set in a
 * table and deleted again, the table kept; prints how many of them a full
 * collection then still finds alive, and how many the table still holds.
 */

const collect = (globalThis as { gc?: (options?: { type: "minor" }) => void }).gc;
if (collect === undefined) throw new Error("run with node --expose-gc");
const oldSpace = () =>
  v8.getHeapSpaceStatistics().find((space) => space.space_name === "old_space")?.space_used_size ?? 0;

if (process.argv[2] === "released") {
  const table = new StreamTable<object>();
  const refs: WeakRef<object>[] = [];
  // Half of them 512 apart, so that they share home slots and deletions move entries.
  const ids = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 + 2 * i : 1 + 512 * i));
  for (const id of ids) {
    const stream = { id };
    refs.push(new WeakRef(stream));
    table.set(id, stream);
  }
  for (const id of ids.filter((_, i) => i % 3 === 0)) table.delete(id);
  for (const id of ids) table.delete(id);
  // WeakRef targets are kept to the end of the task that made them.
  setTimeout(() => {
    collect();
    process.stdout.write(String(refs.filter((ref) => ref.deref() !== undefined).length + table.size));
  }, 0);
} else {
  const table = process.argv[2] === "map" ? new Map<number, object>() : new StreamTable<object>();
  for (let i = 0; i < 4; i++) collect({ type: "minor" });
  const open: number[] = [];
  let id = 1;
  let promoted = 0;
  for (let batch = 0; batch < 20; batch++) {
    for (let i = 0; i < 500; i++) {
      table.set(id, { frames: new Array(64).fill(id) });
      open.push(id);
      id += 2;
      if (open.length > 16) table.delete(open.shift() as number);
    }
    const before = oldSpace();
    collect({ type: "minor" });
    collect({ type: "minor" });
    promoted += oldSpace() - before;
  }
  process.stdout.write(String(promoted));
}
