import { describe } from "node:test";
import { describeContract, getListInterval } from "./support/contract.js";
import { startServer } from "./support/server.js";

for (const fastPath of ["on", "off"]) {
  describe(`SimpleTest over cleartext, HTTP/1.1 and h2c on one port (FAST_PATH=${fastPath})`, () => {
    describeContract(() => startServer({ GETLIST_INTERVAL_MS: String(getListInterval), FAST_PATH: fastPath }));
  });
}
