/**
 * End-to-end encryption of overlay messages between nodes: X25519 key agreement, HKDF-SHA256, and
 * ChaCha20-Poly1305, all from `node:crypto`. Each node makes its own key pair at start; only public keys
 * travel (through the researcher, which relays but cannot read or alter a payload undetected).
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { AuthenticationError, ConfigError, DecodeError } from "../core/errors.ts";

const TAG_BYTES = 16;

/**
 * One node's X25519 key pair and the keys it derived with its peers.
 * @example
 * ```ts
 * const a = new OverlayKeys(), b = new OverlayKeys();
 * const sealed = a.seal("a", "b", b.publicKey, bytes);
 * b.open("a", "b", a.publicKey, sealed.payload, sealed.nonce); // bytes
 * ```
 */
export class OverlayKeys {
  /** Raw 32-byte public key to publish. */
  readonly publicKey: Uint8Array;
  private readonly privateKey: KeyObject;
  private readonly derived = new Map<string, Buffer>();

  /**
   * @param privateKey this node's X25519 private key (PEM, or a KeyObject) to keep the same public key
   *   across restarts, which lets other nodes pin it; a new key pair is made when omitted.
   */
  constructor(privateKey?: string | Buffer | KeyObject) {
    if (privateKey === undefined) {
      this.privateKey = generateKeyPairSync("x25519").privateKey;
    } else {
      try {
        this.privateKey =
          typeof privateKey === "string" || Buffer.isBuffer(privateKey)
            ? createPrivateKey(privateKey)
            : privateKey;
      } catch (err) {
        throw new ConfigError(
          `overlay private key is not a readable PEM key: ${(err as Error).message}; make one with generateOverlayPrivateKey()`,
          { cause: err },
        );
      }
      if (this.privateKey.type !== "private" || this.privateKey.asymmetricKeyType !== "x25519") {
        throw new ConfigError(
          `overlay private key must be an X25519 private key, not ${this.privateKey.asymmetricKeyType ?? this.privateKey.type}; make one with generateOverlayPrivateKey()`,
        );
      }
    }
    const publicKey = createPublicKey(this.privateKey);
    this.publicKey = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  }

  /** SHA-256 fingerprint of {@link publicKey}, to hand to other nodes out of band for pinning. */
  get fingerprint(): string {
    return overlayKeyFingerprint(this.publicKey);
  }

  /** Encrypts `plain` from `source` to `dest`. */
  seal(
    source: string,
    dest: string,
    destKey: Uint8Array,
    plain: Uint8Array,
  ): { payload: Buffer; nonce: Buffer } {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("chacha20-poly1305", this.key(source, dest, destKey), nonce, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.from(`${source}>${dest}`), { plaintextLength: plain.byteLength });
    const payload = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return { payload, nonce };
  }

  /** Decrypts; a tampered payload, nonce or route raises {@link AuthenticationError}. */
  open(
    source: string,
    dest: string,
    sourceKey: Uint8Array,
    payload: Uint8Array,
    nonce: Uint8Array | undefined,
  ): Buffer {
    if (nonce === undefined || nonce.byteLength !== 12 || payload.byteLength < TAG_BYTES) {
      throw new DecodeError(`encrypted overlay from ${source} has no valid nonce or tag`);
    }
    try {
      const decipher = createDecipheriv("chacha20-poly1305", this.key(source, dest, sourceKey), nonce, {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(`${source}>${dest}`), { plaintextLength: payload.byteLength - TAG_BYTES });
      decipher.setAuthTag(payload.subarray(payload.byteLength - TAG_BYTES));
      return Buffer.concat([
        decipher.update(payload.subarray(0, payload.byteLength - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch (err) {
      throw new AuthenticationError(
        `overlay message from ${source} failed authentication: it was altered on the way or the sender's key changed`,
        { cause: err },
      );
    }
  }

  private key(source: string, dest: string, peerKey: Uint8Array): Buffer {
    const id = `${source}>${dest}:${Buffer.from(peerKey).toString("base64")}`;
    let k = this.derived.get(id);
    if (k === undefined) {
      const pub = createPublicKey({
        key: { kty: "OKP", crv: "X25519", x: Buffer.from(peerKey).toString("base64url") },
        format: "jwk",
      });
      const shared = diffieHellman({ privateKey: this.privateKey, publicKey: pub });
      k = Buffer.from(hkdfSync("sha256", shared, Buffer.alloc(0), `weft-overlay-v1 ${source}>${dest}`, 32));
      this.derived.set(id, k);
    }
    return k;
  }
}

/**
 * The fingerprint of an overlay public key: SHA-256 of its 32 raw bytes, as colon-separated uppercase
 * hex pairs (the form of TLS `fingerprint256`).
 * @example
 * ```ts
 * overlayKeyFingerprint(node.overlayKeys!.publicKey); // "3F:A2:…"
 * ```
 */
export function overlayKeyFingerprint(publicKey: Uint8Array): string {
  const hex = createHash("sha256").update(publicKey).digest("hex").toUpperCase();
  return hex.replace(/(..)(?!$)/g, "$1:");
}

/**
 * A new X25519 private key as PEM, to store with the node (e.g. a file readable by it only) and pass
 * as `overlayPrivateKey` so that its overlay public key, and its fingerprint, survive restarts.
 * @example
 * ```ts
 * writeFileSync("overlay-key.pem", generateOverlayPrivateKey(), { mode: 0o600 });
 * ```
 */
export function generateOverlayPrivateKey(): string {
  return generateKeyPairSync("x25519").privateKey.export({ format: "pem", type: "pkcs8" }) as string;
}
