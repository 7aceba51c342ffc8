import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe } from "node:test";
import { describeContract, getListInterval } from "./support/contract.js";
import { startServer } from "./support/server.js";

describe("SimpleTest over TLS, HTTP/1.1 and HTTP/2 chosen by ALPN on one port", () => {
  const dir = mkdtempSync(join(tmpdir(), "simpletest-tls-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: "ignore" },
  );

  describeContract(async () => ({
    ...(await startServer({ GETLIST_INTERVAL_MS: String(getListInterval), TLS_CERT: cert, TLS_KEY: key })),
    ca: readFileSync(cert),
  }));
});
