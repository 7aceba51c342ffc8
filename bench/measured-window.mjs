// What the recorders bench:profile loads into a server (`node --import`) share: the measured
// window, which the first SIGUSR2 opens and the second closes, and the in-process inspector.
import { Session } from "node:inspector";

/** Runs `start` when the first SIGUSR2 comes, and `stop` when the second does. */
export function onMeasuredWindow(start, stop) {
  let open = false;
  process.on("SIGUSR2", () => {
    if (open) {
      stop();
      return;
    }
    open = true;
    start();
  });
}

let session;

/** A command to this process's own inspector, and its result. */
export function inspect(method, params) {
  if (session === undefined) {
    session = new Session();
    session.connect();
  }
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );
}
