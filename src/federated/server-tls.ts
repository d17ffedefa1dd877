/**
 * TLS on the researcher's side: the server credentials, and the check that a node's client certificate
 * names the node id it claims, so that with mutual TLS one node cannot pass itself off as another.
 * @module
 */
import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { AuthenticationError, ConfigError } from "../core/errors.ts";

/**
 * TLS of the researcher.
 * @example
 * ```ts
 * const tls: ServerTlsOptions = {
 *   cert: readFileSync("server.pem"),
 *   key: readFileSync("server-key.pem"),
 *   ca: readFileSync("ca.pem"),
 *   requireClientCert: true,
 * };
 * await server.start({ port: 50051, tls });
 * ```
 */
export interface ServerTlsOptions {
  /** PEM certificate chain of the server. */
  cert: Buffer | string;
  /** PEM private key of the server. */
  key: Buffer | string;
  /** PEM CA that signs node certificates; required with `requireClientCert`. */
  ca?: Buffer | string;
  /** Mutual TLS: refuse nodes without a certificate signed by `ca`. Default false. */
  requireClientCert?: boolean;
  /** With mutual TLS, refuse a node whose certificate's CN/SAN is not its node id. Default true. */
  checkNodeIdentity?: boolean;
}

/**
 * The credentials to listen with: plaintext without `tls`. Bad PEM material → {@link ConfigError}, so
 * that start() fails with a message that says what to give.
 * @example
 * ```ts
 * const creds = serverCredentials({ cert: readFileSync("server.pem"), key: readFileSync("server-key.pem") });
 * server.bindAsync("127.0.0.1:50051", creds, callback);
 * ```
 */
export function serverCredentials(tls: ServerTlsOptions | undefined): grpc.ServerCredentials {
  try {
    return tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(
          tls.ca === undefined ? null : Buffer.from(tls.ca),
          [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }],
          tls.requireClientCert ?? false,
        );
  } catch (err) {
    throw new ConfigError(
      `researcher TLS options are invalid: ${(err as Error).message}; give PEM cert, key and ca`,
      { cause: err },
    );
  }
}

/**
 * Why the node on `call` may not use `nodeId`, or undefined when it may. Only checked with mutual TLS
 * and `checkNodeIdentity` (the default): the certificate's CN or a DNS/URI SAN must be the node id.
 * @example
 * ```ts
 * const refused = peerIdentityError(tls, call, hello.nodeId);
 * if (refused !== undefined) call.emit("error", { code: grpc.status.UNAUTHENTICATED, details: refused.message });
 * ```
 */
export function peerIdentityError(
  tls: ServerTlsOptions | undefined,
  call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null },
  nodeId: string,
): AuthenticationError | undefined {
  if (tls === undefined || !(tls.requireClientCert ?? false) || !(tls.checkNodeIdentity ?? true))
    return undefined;
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (cert === undefined || cert === null || Object.keys(cert).length === 0) {
    return new AuthenticationError(
      `node "${nodeId}" presented no client certificate; mutual TLS is required`,
    );
  }
  const names = new Set<string>();
  const cn = cert.subject?.CN;
  if (typeof cn === "string") names.add(cn);
  for (const part of (cert.subjectaltname ?? "").split(",")) {
    const m = /^\s*(?:DNS|URI):(.*)$/.exec(part);
    if (m?.[1] !== undefined) names.add(m[1].trim());
  }
  if (!names.has(nodeId)) {
    return new AuthenticationError(
      `node id "${nodeId}" does not match its certificate identity (${[...names].join(", ") || "none"}); issue the node a certificate with CN or SAN "${nodeId}"`,
    );
  }
  return undefined;
}
