import { after, describe } from "node:test";
import { describeContract, getListInterval } from "./support/contract.js";
import { selfSigned } from "./support/self-signed.js";
import { startServer } from "./support/server.js";

describe("SimpleTest over TLS, HTTP/1.1 and HTTP/2 chosen by ALPN on one port", () => {
  const cert = selfSigned();
  after(() => cert.remove());

  describeContract(async () => ({
    ...(await startServer({
      GETLIST_INTERVAL_MS: String(getListInterval),
      TLS_CERT: cert.certPath,
      TLS_KEY: cert.keyPath,
    })),
    ca: cert.ca,
  }));
});
