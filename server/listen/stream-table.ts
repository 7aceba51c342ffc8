/**
 * A table of one HTTP/2 connection's open streams, by stream id, for
 * node:http2 to keep its own in (`useStreamTable`), in place of the `Map` it
 * keeps them in.
 *
 * V8 moves a `Map`'s entries to a new table as it grows, shrinks or fills
 * with deleted entries, makes the new table in the generation of the old one,
 * and leaves the old one pointing at the entries it held. Once a connection's
 * table has lived into the old generation, each one left behind keeps the
 * streams then open, and all they point to, alive through every scavenge
 * until a full collection: with five or more calls in flight on a connection,
 * nearly every call was promoted (bench/README.md, step 72). This table keeps
 * its entries in two arrays it only ever replaces whole, emptying the old
 * ones, and clears every slot it frees, so nothing it let go of stays
 * reachable from it (stream-table.test.ts; what node:http2 asks of it,
 * server/internals.test.ts).
 *
 * It has what node:http2 asks of its table on Nodes 20 to 26 (`get`, `set`,
 * `delete`, `size`, `forEach`), for the ids it gives streams (whole numbers
 * from 1), and never shrinks: a connection keeps room for the most streams it
 * had open at once (at most HTTP2_MAX_CONCURRENT_STREAMS).
 */
export class StreamTable<V> {
  /** Open addressing with linear probing; 0 marks a free slot (no stream has id 0). */
  #ids = new Array<number>(16).fill(0);
  #values = new Array<V | undefined>(16).fill(undefined);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): V | undefined {
    const at = this.#slotOf(id);
    return at < 0 ? undefined : this.#values[at];
  }

  set(id: number, value: V): this {
    // Should a Node keep other keys here, its calls fail at once rather than lose streams.
    if (!Number.isSafeInteger(id) || id < 1) throw new TypeError(`a stream id is a whole number from 1, not ${id}`);
    const at = this.#slotOf(id);
    if (at >= 0) {
      this.#values[at] = value;
      return this;
    }
    if ((this.#size + 1) * 2 > this.#ids.length) this.#grow();
    this.#place(id, value);
    this.#size++;
    return this;
  }

  delete(id: number): boolean {
    let free = this.#slotOf(id);
    if (free < 0) return false;
    const ids = this.#ids;
    const values = this.#values;
    const mask = ids.length - 1;
    this.#size--;
    // Backward-shift deletion: each later entry of the run that may sit in the
    // freed slot moves there, so lookups need no tombstones.
    for (let next = (free + 1) & mask; ids[next] !== 0; next = (next + 1) & mask) {
      const home = this.#home(ids[next], mask);
      const stays = free <= next ? free < home && home <= next : free < home || home <= next;
      if (stays) continue;
      ids[free] = ids[next];
      values[free] = values[next];
      free = next;
    }
    ids[free] = 0;
    values[free] = undefined;
    return true;
  }

  /**
   * Calls `visit` with each stream open when it begins, in no set order,
   * unless deleted before its turn (node:http2 destroys every stream so, and
   * each destroy deletes its own entry meanwhile); one set meanwhile is not
   * visited.
   */
  forEach(visit: (value: V, id: number, table: this) => void): void {
    const ids: number[] = [];
    for (const id of this.#ids) if (id !== 0) ids.push(id);
    for (const id of ids) {
      const at = this.#slotOf(id);
      if (at >= 0) visit(this.#values[at] as V, id, this);
    }
  }

  #home(id: number, mask: number): number {
    // Ids come odd (a client's) or even (pushed): their half spreads them over the slots.
    return (id >>> 1) & mask;
  }

  #slotOf(id: number): number {
    const ids = this.#ids;
    const mask = ids.length - 1;
    for (let at = this.#home(id, mask); ids[at] !== 0; at = (at + 1) & mask) {
      if (ids[at] === id) return at;
    }
    return -1;
  }

  #place(id: number, value: V): void {
    const ids = this.#ids;
    const mask = ids.length - 1;
    let at = this.#home(id, mask);
    while (ids[at] !== 0) at = (at + 1) & mask;
    ids[at] = id;
    this.#values[at] = value;
  }

  #grow(): void {
    const ids = this.#ids;
    const values = this.#values;
    this.#ids = new Array<number>(ids.length * 2).fill(0);
    this.#values = new Array<V | undefined>(ids.length * 2).fill(undefined);
    for (let at = 0; at < ids.length; at++) if (ids[at] !== 0) this.#place(ids[at], values[at] as V);
    // The old arrays may outlive this in the old generation: they keep no stream.
    values.fill(undefined);
  }
}

/**
 * node:http2's private state of a session: what it keeps under the session's
 * one own symbol named "state" (Nodes 20 to 26), or undefined if there is no
 * such one object.
 */
export function sessionState(session: object): object | undefined {
  const named = Object.getOwnPropertySymbols(session).filter((symbol) => symbol.description === "state");
  const state: unknown = named.length === 1 ? Reflect.get(session, named[0]) : undefined;
  return typeof state === "object" && state !== null ? state : undefined;
}

/**
 * Has node:http2 keep `session`'s streams in a `StreamTable`: true if it
 * does now, false if the session is not as Nodes 20 to 26 make it (an empty
 * `streams` table in its `sessionState`), which leaves Node's own in place.
 */
export function useStreamTable(session: object): boolean {
  const state = sessionState(session);
  if (state === undefined || !isEmptyTable(Reflect.get(state, "streams"))) return false;
  Reflect.set(state, "streams", new StreamTable());
  return true;
}

function isEmptyTable(table: unknown): boolean {
  if (typeof table !== "object" || table === null) return false;
  const methods = ["get", "set", "delete", "forEach"].every((name) => typeof Reflect.get(table, name) === "function");
  return methods && Reflect.get(table, "size") === 0;
}
