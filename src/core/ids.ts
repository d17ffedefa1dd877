/**
 * Identifiers for sessions, messages and group members.
 *
 * An id is a per-process random prefix (48 random bits, 8 base64url characters) followed by a per-process
 * counter, e.g. `"Qm4tZ0vN.1k"`. Ids are unique across processes and machines (two processes share a
 * prefix with probability about n² / 2⁴⁹ for n processes: one in five million for 10 000 processes) and
 * strictly increasing within one process. They are a third of the size of a UUID string, which matters on
 * the wire: a message with a 64-byte payload, short names and two of these ids stays within the 128 bytes
 * up to which zeromq.js copies a frame; a larger frame is handed over by reference, released later by
 * waking the sending process, and arrives as a buffer the receiver's garbage collector must finalize
 * (measured: 10 % of a pipelined request/reply's rate once the counters had four digits and 64 random bits
 * pushed such messages past the limit). Ids are correlation keys, not secrets: use {@link randomToken} for
 * anything that must not be guessed.
 * @module
 */
import { randomBytes } from "node:crypto";
import { charCodeAt, startsWith } from "./string-methods.ts";

const PROCESS_PREFIX = randomBytes(6).toString("base64url");
let counter = 0;

/**
 * A new id, unique across processes: this process's random prefix, a dot and a counter in base 36.
 * @example
 * ```ts
 * const id = newId(); // "Qm4tZ0vN.0", then "Qm4tZ0vN.1", …
 * ```
 */
export function newId(): string {
  return `${PROCESS_PREFIX}.${(counter++).toString(36)}`;
}

/**
 * A random, unguessable token of `bytes` random bytes in base64url (default 16 bytes, 22 characters).
 * @example
 * ```ts
 * const suffix = randomToken(6); // "p2Xc9LrA"
 * ```
 */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString("base64url");
}

const OWN_PREFIX = `${PROCESS_PREFIX}.`;

/**
 * The counter of an id made by {@link newId} in this process, or -1 for any other id (made elsewhere, or
 * not an id at all). Lets a process index its own recent ids in an array instead of hashing strings.
 * @example
 * ```ts
 * const id = newId();
 * ownIdSequence(id); // e.g. 41
 * ownIdSequence("some-other-id"); // -1
 * ```
 */
export function ownIdSequence(id: string): number {
  if (id.length <= OWN_PREFIX.length || !startsWith(id, OWN_PREFIX)) return -1;
  // The base-36 digits read in place: no substring, no parseInt (this runs on every send).
  let n = 0;
  for (let i = OWN_PREFIX.length; i < id.length; i++) {
    const c = charCodeAt(id, i);
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    if (digit < 0) return -1;
    n = n * 36 + digit;
  }
  return n < counter ? n : -1;
}
