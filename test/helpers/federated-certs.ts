// Test certificates made at test time with openssl in a temp dir (nothing is shipped).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Pem {
  cert: Buffer;
  key: Buffer;
}
export interface TestPki {
  ca: Pem;
  server: Pem;
  node(id: string): Pem;
  otherCa: Pem;
  stranger: Pem;
  dispose(): void;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "weft-fed-pki-"));
  const ssl = (...args: string[]): void => void execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  const read = (name: string): Pem => ({
    cert: readFileSync(join(dir, `${name}.crt`)),
    key: readFileSync(join(dir, `${name}.key`)),
  });
  const makeCa = (name: string): void =>
    ssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
    );
  const issue = (name: string, ca: string, san: string): void => {
    ssl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    ssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  };
  makeCa("ca");
  makeCa("otherca");
  issue("server", "ca", "DNS:localhost,IP:127.0.0.1");
  issue("stranger", "otherca", "DNS:n1");
  const nodes = new Map<string, Pem>();
  return {
    ca: read("ca"),
    server: read("server"),
    otherCa: read("otherca"),
    stranger: read("stranger"),
    node(id: string): Pem {
      let p = nodes.get(id);
      if (p === undefined) {
        issue(id, "ca", `DNS:${id}`);
        p = read(id);
        nodes.set(id, p);
      }
      return p;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
