/**
 * End-to-end encryption of overlay messages between nodes: X25519 key agreement, HKDF-SHA256, and
 * ChaCha20-Poly1305, all from `node:crypto`. Each node makes its own key pair at start; only public keys
 * travel (through the researcher, which relays but cannot read or alter a payload undetected).
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { AuthenticationError, DecodeError } from "../core/errors.ts";

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

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync("x25519");
    this.privateKey = privateKey;
    this.publicKey = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
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
