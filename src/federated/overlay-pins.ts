/**
 * Out-of-band pinning of other nodes' overlay public keys.
 *
 * Without pins a node trusts the keys the researcher publishes, so a researcher that lies about a key
 * could read and forge overlay messages. A pin is the expected key (32 raw bytes) or its SHA-256
 * fingerprint, learned apart from the researcher (from the other node's operator, for instance); a
 * published key that does not match is refused, loudly, and never used.
 * @module
 */
import { AuthenticationError, ConfigError } from "../core/errors.ts";
import { overlayKeyFingerprint } from "./overlay-crypto.ts";

/**
 * Pins by node id: a fingerprint string ("AB:CD:…", colons and case free) or the raw 32-byte key.
 * @example
 * ```ts
 * const pins: OverlayPins = { n2: "3F:A2:…", n3: rawPublicKeyOfN3 };
 * const node = new NodeClient({ nodeId: "n1", researchers, onTask, overlayEncryption: true, pinnedPeerKeys: pins });
 * ```
 */
export type OverlayPins = Record<string, string | Uint8Array>;

/**
 * Outcome of checking a published key.
 * @example
 * ```ts
 * const result: PinCheck = pins.check("n2", publishedKey, "researcher-1");
 * if (!result.ok) throw result.error;
 * ```
 */
export type PinCheck = { ok: true } | { ok: false; error: AuthenticationError };

/**
 * The pins of one node, normalised to fingerprints.
 * @example
 * ```ts
 * const pins = new OverlayPinSet({ b: "3F:A2:…" }, false);
 * pins.check("b", publishedKey, "researcher-1"); // { ok: false, error } on a mismatch
 * ```
 */
export class OverlayPinSet {
  private readonly expected = new Map<string, string>();

  /**
   * @param pins expected keys or fingerprints by node id; a malformed one is a ConfigError.
   * @param requirePinned refuse the keys of nodes without a pin too.
   */
  constructor(
    pins: OverlayPins,
    readonly requirePinned: boolean,
  ) {
    for (const [nodeId, pin] of Object.entries(pins)) this.expected.set(nodeId, normalise(nodeId, pin));
  }

  /** Number of pinned nodes. */
  get size(): number {
    return this.expected.size;
  }

  /** True when `nodeId` has a pin. */
  has(nodeId: string): boolean {
    return this.expected.has(nodeId);
  }

  /** Checks a key the researcher published for `nodeId`. */
  check(nodeId: string, publicKey: Uint8Array, researcher: string): PinCheck {
    const want = this.expected.get(nodeId);
    const got = overlayKeyFingerprint(publicKey);
    if (want === undefined) {
      if (!this.requirePinned) return { ok: true };
      return {
        ok: false,
        error: new AuthenticationError(
          `researcher ${researcher} published an overlay key for node "${nodeId}" (fingerprint ${got}), which has no pin, and requirePinnedPeers is on; add its fingerprint to pinnedPeerKeys after checking it with that node's operator`,
        ),
      };
    }
    if (want === got) return { ok: true };
    return {
      ok: false,
      error: new AuthenticationError(
        `researcher ${researcher} published an overlay key for node "${nodeId}" with fingerprint ${got}, not the pinned ${want}; the key was refused and no overlay message goes to or comes from "${nodeId}" under it. If "${nodeId}" legitimately changed its key, confirm the new fingerprint with its operator and update pinnedPeerKeys; otherwise the researcher or the network is substituting keys`,
      ),
    };
  }
}

function normalise(nodeId: string, pin: string | Uint8Array): string {
  if (pin instanceof Uint8Array) {
    if (pin.byteLength !== 32) {
      throw new ConfigError(
        `pinned overlay key of node "${nodeId}" is ${pin.byteLength} bytes; an X25519 public key is 32 bytes (or give its fingerprint as a string)`,
      );
    }
    return overlayKeyFingerprint(pin);
  }
  if (typeof pin !== "string") {
    throw new ConfigError(`pinned overlay key of node "${nodeId}" must be a fingerprint string or 32 bytes`);
  }
  const hex = pin.replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new ConfigError(
      `pinned overlay fingerprint of node "${nodeId}" is not a SHA-256 fingerprint (64 hex digits, colons allowed): "${pin}"; read it from that node's overlayFingerprint`,
    );
  }
  return hex.replace(/(..)(?!$)/g, "$1:");
}
