import { describe } from "node:test";
import { describeContract, getListInterval } from "./support/contract.js";
import { startServer } from "./support/server.js";

describe("SimpleTest over cleartext, HTTP/1.1 and h2c on one port", () => {
  describeContract(() => startServer({ GETLIST_INTERVAL_MS: String(getListInterval) }));
});
