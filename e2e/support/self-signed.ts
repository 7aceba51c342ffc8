import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SelfSigned {
  /** Paths, for TLS_CERT and TLS_KEY. */
  readonly certPath: string;
  readonly keyPath: string;
  /** The certificate's PEM, for a client's `ca`. */
  readonly ca: Buffer;
  /** The DNS name it carries, for a client that must not give an IP address as the TLS server name. */
  readonly dnsName: string;
  /** Deletes the files. */
  remove(): void;
}

/** A certificate for 127.0.0.1 and localhost, made with openssl, valid for a day: P-256 or RSA 2048. */
export function selfSigned(keyType: "ec" | "rsa" = "ec"): SelfSigned {
  const dnsName = "localhost";
  const dir = mkdtempSync(join(tmpdir(), "simpletest-cert-"));
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      ...(keyType === "ec" ? ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["rsa:2048"]),
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      `subjectAltName=IP:127.0.0.1,DNS:${dnsName}`,
    ],
    { stdio: "ignore" },
  );
  return {
    certPath,
    keyPath,
    ca: readFileSync(certPath),
    dnsName,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
