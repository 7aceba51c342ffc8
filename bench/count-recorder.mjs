// Loaded into a server with `node --import` by `npm run bench:profile -- --counts`: what the
// server does over the measured window, counted where it is asked for: process.nextTick's ticks,
// the promises V8's promise hooks see made, and listeners added to and taken off emitters (a
// Readable's method, which calls EventEmitter's, counts once; removeAllListeners only through the
// removeListener calls it makes on an emitter with a "removeListener" listener). Goes to
// COUNTS_PROFILE.
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { promiseHooks } from "node:v8";
import { onMeasuredWindow } from "./measured-window.mjs";

const counts = { nextTicks: 0, promises: 0, listenersAdded: 0, listenersRemoved: 0 };
let counting = false;
/** Inside a counted listener method: the EventEmitter method a Readable's calls is not counted again. */
let inListenerMethod = false;

const nextTick = process.nextTick;
process.nextTick = function (...args) {
  if (counting) counts.nextTicks++;
  return nextTick.apply(this, args);
};

function countListeners(proto, name, key) {
  const original = proto[name];
  proto[name] = function (...args) {
    if (!counting || inListenerMethod) return original.apply(this, args);
    counts[key]++;
    inListenerMethod = true;
    try {
      return original.apply(this, args);
    } finally {
      inListenerMethod = false;
    }
  };
}

for (const proto of [EventEmitter.prototype, Readable.prototype]) {
  for (const name of ["on", "addListener", "prependListener"]) countListeners(proto, name, "listenersAdded");
  for (const name of ["off", "removeListener"]) countListeners(proto, name, "listenersRemoved");
}

let stopHook;
onMeasuredWindow(
  () => {
    counting = true;
    stopHook = promiseHooks.onInit(() => {
      counts.promises++;
    });
  },
  () => {
    counting = false;
    stopHook();
    writeFileSync(process.env.COUNTS_PROFILE, JSON.stringify(counts));
  },
);
