/**
 * Several wire messages in one multipart ZeroMQ message.
 *
 * A sender that has many small messages queued for one peer may send them as one ZeroMQ message: their
 * frames back to back. Each version 2 message is its first frame followed by as many attachment frames
 * as that frame's `attachmentCount` field says, so a receiver finds the boundaries by reading that one
 * field of each first frame — without decoding the message. See docs/wire-protocol.md.
 * @module
 */

/**
 * Reads the `attachmentCount` field (index 9) of a version 2 first frame by skipping the nine fields
 * before it (integers, strings and nils). Returns -1 when the frame does not start like a version 2
 * header, so the caller can leave the frames to the decoder and its precise errors.
 */
export function peekAttachmentCount(frame: Uint8Array): number {
  let p: number;
  const b0 = frame[0];
  if (b0 === 0x9b) p = 1;
  else if (b0 === 0xdc && frame[1] === 0 && frame[2] === 11) p = 3;
  else return -1;
  for (let field = 0; field < 9; field++) {
    const skip = fieldLength(frame, p);
    if (skip < 0) return -1;
    p += skip;
  }
  const b = frame[p];
  if (b === undefined) return -1;
  if (b <= 0x7f) return b;
  if (b === 0xcc) return frame[p + 1] ?? -1;
  if (b === 0xcd && p + 2 < frame.length) return ((frame[p + 1] as number) << 8) | (frame[p + 2] as number);
  if (b === 0xce && p + 4 < frame.length) {
    return (
      (frame[p + 1] as number) * 0x1000000 +
      (((frame[p + 2] as number) << 16) | ((frame[p + 3] as number) << 8) | (frame[p + 4] as number))
    );
  }
  return -1;
}

/** Bytes taken by the header field (int, string or nil) at `p`, or -1 for anything else. */
function fieldLength(frame: Uint8Array, p: number): number {
  const b = frame[p];
  if (b === undefined) return -1;
  let length: number;
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) length = 1;
  else if (b >= 0xa0 && b <= 0xbf) length = 1 + (b & 0x1f);
  else if (b === 0xd9) length = 2 + (frame[p + 1] ?? 0);
  else if (b === 0xda) length = 3 + (((frame[p + 1] ?? 0) << 8) | (frame[p + 2] ?? 0));
  else if (b === 0xcc || b === 0xd0) length = 2;
  else if (b === 0xcd || b === 0xd1) length = 3;
  else if (b === 0xce || b === 0xd2 || b === 0xca) length = 5;
  else if (b === 0xcf || b === 0xd3 || b === 0xcb) length = 9;
  else return -1;
  return p + length <= frame.length ? length : -1;
}

/**
 * Splits the frames of one ZeroMQ message into the frames of each wire message it carries. One message
 * (the usual case, and every version 1 message) comes back as the input itself. Unless every first frame
 * can be read and their attachment counts add up to exactly the frames there are, the frames are not a
 * batch: they come back whole, as one message, so decoding reports what is wrong once (foreign garbage
 * counts as one undecodable message, not as several made-up ones).
 * @example
 * ```ts
 * for (const frames of splitMessages(await pull.receive())) handle(decodeMessage(frames));
 * ```
 */
export function splitMessages<T extends Uint8Array>(frames: readonly T[]): (readonly T[])[] {
  const n = frames.length;
  if (n < 2) return [frames];
  const groups: (readonly T[])[] = [];
  let i = 0;
  while (i < n) {
    const first = frames[i];
    const count = first instanceof Uint8Array ? peekAttachmentCount(first) : -1;
    if (count < 0 || i + 1 + count > n) return [frames];
    if (i === 0 && count === n - 1) return [frames];
    groups.push(frames.slice(i, i + 1 + count));
    i += 1 + count;
  }
  return groups;
}
