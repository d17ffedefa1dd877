/**
 * The gRPC channel a node opens to one researcher: its TLS credentials (with an optional pinned server
 * certificate), its channel options, and the reading of a failed call as a weft error, so that a
 * refused identity or a broken TLS handshake is told apart from a researcher that is merely down.
 * @module
 */
import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import {
  AuthenticationError,
  ConfigError,
  ResearcherUnavailableError,
  type WeftError,
} from "../core/errors.ts";
import { researcherClientConstructor } from "./protocol.ts";

/**
 * TLS of a node's connection.
 * @example
 * ```ts
 * const tls: ClientTlsOptions = {
 *   ca: readFileSync("ca.pem"),
 *   cert: readFileSync("node.pem"),
 *   key: readFileSync("node-key.pem"),
 *   serverName: "researcher.lab",
 * };
 * ```
 */
export interface ClientTlsOptions {
  /** PEM CA (or the server's own certificate) the server certificate must chain to. */
  ca: Buffer | string;
  /** Pinned SHA-256 fingerprint of the server certificate ("AB:CD:…"), checked on top of `ca`. */
  fingerprint256?: string;
  /** PEM certificate of this node, for mutual TLS. */
  cert?: Buffer | string;
  /** PEM key of this node, for mutual TLS. */
  key?: Buffer | string;
  /** Name to verify in the server certificate instead of the host. */
  serverName?: string;
}

/** See `NodeClientOptions.flowControlWindowBytes`. */
const DEFAULT_FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;

/**
 * A gRPC client of the researcher service at `host:port`, whose methods (Session, ReplyTask, …) are
 * looked up by name. Bad TLS material → {@link ConfigError}.
 * @param flowControlWindowBytes HTTP/2 flow-control window; default 16 MiB
 * @example
 * ```ts
 * const client = researcherClient({ host: "localhost", port: 50051 }, undefined);
 * const call = client.Session();
 * ```
 */
export function researcherClient(
  address: { host: string; port: number; tls?: ClientTlsOptions },
  flowControlWindowBytes: number | undefined,
): grpc.Client & Record<string, any> {
  const Client = researcherClientConstructor();
  return new Client(`${address.host}:${address.port}`, credentials(address.tls), {
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 2000,
    "grpc-node.flow_control_window": flowControlWindowBytes ?? DEFAULT_FLOW_CONTROL_WINDOW,
    ...(address.tls?.serverName !== undefined
      ? { "grpc.ssl_target_name_override": address.tls.serverName }
      : {}),
  }) as grpc.Client & Record<string, any>;
}

function credentials(tls: ClientTlsOptions | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  if (tls.ca === undefined || String(tls.ca).trim() === "") {
    throw new ConfigError(
      "node TLS needs `ca` (the CA or the server's own certificate); blind trust is not offered",
    );
  }
  const pin = tls.fingerprint256?.toUpperCase();
  try {
    return grpc.credentials.createSsl(
      Buffer.from(tls.ca),
      tls.key === undefined ? null : Buffer.from(tls.key),
      tls.cert === undefined ? null : Buffer.from(tls.cert),
      pin === undefined
        ? {}
        : {
            checkServerIdentity: (_host: string, cert: PeerCertificate) => {
              const got = cert.fingerprint256 ?? createHash("sha256").update(cert.raw).digest("hex");
              return got.toUpperCase() === pin
                ? undefined
                : new Error(`server certificate fingerprint ${got} is not the pinned ${pin}`);
            },
          },
    );
  } catch (err) {
    throw new ConfigError(
      `node TLS options are invalid: ${(err as Error).message}; give PEM ca (and cert + key for mutual TLS)`,
      { cause: err },
    );
  }
}

/**
 * The weft error a failed call to the researcher `label` stands for: AuthenticationError when the
 * researcher refused this node or TLS failed, else ResearcherUnavailableError.
 * @example
 * ```ts
 * call.on("error", (err: grpc.ServiceError) => node.reportError(grpcToWeft(err, "localhost:50051")));
 * ```
 */
export function grpcToWeft(err: grpc.ServiceError, label: string): WeftError {
  if (err.code === grpc.status.UNAUTHENTICATED)
    return new AuthenticationError(`researcher ${label} refused this node: ${err.details}`, { cause: err });
  if (/certificate|handshake|SSL|TLS|self.signed/i.test(err.details ?? "")) {
    return new AuthenticationError(
      `TLS with researcher ${label} failed: ${err.details}; check the CA, the pinned fingerprint and the node certificate`,
      { cause: err },
    );
  }
  return new ResearcherUnavailableError(`researcher ${label}: ${err.details || err.message}`, { cause: err });
}
