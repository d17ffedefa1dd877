/**
 * The wire codec: one weft message ⇄ a list of frames.
 *
 * Frame 0 is one msgpack array holding the header fields and, as its last element, the payload; then one
 * raw frame per binary attachment (see `value-codec.ts`). A small message is therefore a single frame,
 * written by `head-writer.ts` and read by `head-reader.ts` (the same bytes msgpackr writes and reads, in a
 * fraction of the time). Messages of wire version 1 (header and body in two frames) are still decoded.
 * `docs/wire-protocol.md` documents every byte.
 * @module
 */
import { DecodeError, EncodeError } from "./errors.ts";
import { readHead } from "./head-reader.ts";
import { writeHead } from "./head-writer.ts";
import { SessionMessage, type Message } from "./message.ts";
import {
  DEFAULT_ATTACHMENT_THRESHOLD,
  extract,
  packPayload,
  unpackSkippingAttachments,
  unpackSmall,
  unpackValue,
  type CodecOptions,
} from "./value-codec.ts";
import {
  FLAG_SESSION,
  LEGACY_WIRE_VERSION,
  WIRE_VERSION,
  checkFields,
  headerOf,
  messageOf,
  sessionStageCode,
  sessionTypeCode,
  type WireHeader,
} from "./wire-header.ts";

export { FLAG_SESSION, LEGACY_WIRE_VERSION, WIRE_VERSION, type WireHeader } from "./wire-header.ts";
export {
  ATTACHMENT_EXT_TYPE,
  DEFAULT_ATTACHMENT_THRESHOLD,
  MAP_EXT_TYPE,
  packSmall,
  packValue,
  unpackSmall,
  unpackValue,
  type CodecOptions,
  type PackedValue,
} from "./value-codec.ts";

/**
 * Default size limit of one message: 1 GiB.
 * @example
 * ```ts
 * const frames = encodeMessage(msg, { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES / 4 }); // at most 256 MiB
 * ```
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 * 1024;
/**
 * Default maximum number of frames of one message.
 * @example
 * ```ts
 * const msg = decodeMessage(frames, { maxFrames: Math.min(DEFAULT_MAX_FRAMES, 1024) });
 * ```
 */
export const DEFAULT_MAX_FRAMES = 65_536;

/**
 * Encodes a message into frames: `[header and payload, ...attachments]` (wire version 2).
 * Throws {@link EncodeError} when the message exceeds the size or frame limits.
 * @example
 * ```ts
 * const frames = encodeMessage(new Message({ tag: "w", source: "a", destination: "b", payload: weights }));
 * await socket.send(frames);
 * ```
 */
export function encodeMessage(message: Message, options: CodecOptions = {}): Uint8Array[] {
  const attachments: Uint8Array[] = [];
  const threshold = options.attachmentThreshold ?? DEFAULT_ATTACHMENT_THRESHOLD;
  const session = message instanceof SessionMessage;
  let head: Buffer;
  try {
    const payload = extract(message.payload, attachments, threshold, 0);
    head = writeHead(
      message,
      WIRE_VERSION,
      session ? FLAG_SESSION : 0,
      session ? sessionTypeCode(message.sessionType) : null,
      session ? sessionStageCode(message.sessionType, message.sessionStage) : null,
      attachments.length,
      payload,
      packPayload,
    );
  } catch (err) {
    if (err instanceof EncodeError) throw err;
    throw new EncodeError(`value cannot be encoded: ${(err as Error).message}`, { cause: err });
  }
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  if (attachments.length + 1 > maxFrames) {
    throw new EncodeError(`message has ${attachments.length + 1} frames, over the limit of ${maxFrames}`);
  }
  let total = head.byteLength;
  for (const a of attachments) total += a.byteLength;
  const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (total > max) {
    throw new EncodeError(
      `message "${message.tag}" to ${message.destination} is ${total} bytes, over the limit of ${max}; raise maxMessageBytes or split the payload`,
    );
  }
  if (attachments.length === 0) return [head];
  attachments.unshift(head);
  return attachments;
}

/** Number of elements of the msgpack array `frame` starts with, or -1 when it does not start with one. */
function leadingArrayLength(frame: Uint8Array): number {
  const b = frame[0];
  if (b === undefined) return -1;
  if (b >= 0x90 && b <= 0x9f) return b - 0x90;
  if (b === 0xdc && frame.length >= 3) return ((frame[1] as number) << 8) | (frame[2] as number);
  if (b === 0xdd && frame.length >= 5) {
    return (
      (frame[1] as number) * 0x1000000 +
      (((frame[2] as number) << 16) | ((frame[3] as number) << 8) | (frame[4] as number))
    );
  }
  return -1;
}

/**
 * Decodes and checks the header fields of a message's first frame (either wire version). For a version 1
 * header frame this is cheap; a version 2 first frame also holds the payload, which is read and dropped
 * (attachment references are not resolved).
 * @example
 * ```ts
 * const { tag, source } = decodeHeader(frames[0]);
 * ```
 */
export function decodeHeader(frame: Uint8Array | undefined): WireHeader {
  if (frame === undefined) throw new DecodeError("message has no header frame");
  if (!(frame instanceof Uint8Array)) throw new DecodeError("every frame must be bytes");
  const length = leadingArrayLength(frame);
  if (length !== 10 && length !== 11) {
    throw new DecodeError("header is not a 10-element (version 1) or 11-element (version 2) msgpack array");
  }
  // A version 1 header holds no references at all: one there stays an error.
  const h = length === 11 ? unpackSkippingAttachments(frame) : unpackSmall(frame);
  if (!Array.isArray(h) || h.length !== length) throw new DecodeError("header is not a msgpack array");
  return headerOf(h, checkFields(h, length === 10 ? LEGACY_WIRE_VERSION : WIRE_VERSION));
}

/** Empty attachment list shared by single-frame messages. */
const NO_FRAMES: readonly Uint8Array[] = [];

/** Decodes a payload that has no attachment frames. */
const unpackAlone = (bytes: Uint8Array): unknown => unpackValue(bytes, NO_FRAMES);

/**
 * Decodes frames made by {@link encodeMessage} (wire version 2) or by a version 1 encoder (header frame,
 * body frame, attachments). Anything malformed raises {@link DecodeError}.
 * @example
 * ```ts
 * const message = decodeMessage(await socket.receive());
 * ```
 */
export function decodeMessage(frames: readonly Uint8Array[], options: CodecOptions = {}): Message {
  if (!Array.isArray(frames)) throw new DecodeError("frames must be an array");
  const n = frames.length;
  if (n < 1) throw new DecodeError("message has no frames");
  const maxFrames = options.maxFrames ?? DEFAULT_MAX_FRAMES;
  if (n > maxFrames) throw new DecodeError(`message has ${n} frames, over the limit of ${maxFrames}`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const f: unknown = frames[i];
    if (!(f instanceof Uint8Array)) throw new DecodeError("every frame must be bytes");
    total += f.byteLength;
  }
  const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (total > max) throw new DecodeError(`message is ${total} bytes, over the limit of ${max}`);
  const first = frames[0] as Uint8Array;
  const length = leadingArrayLength(first);
  if (length === 10) return decodeLegacy(frames);
  if (length !== 11) {
    throw new DecodeError(
      "first frame is not an 11-element (version 2) or 10-element (version 1) msgpack header array",
    );
  }
  // A single frame in the usual encoding is read by hand (head-reader.ts); anything else by msgpackr.
  const h =
    (n === 1 ? readHead(first, unpackAlone) : undefined) ??
    unpackValue(first, n === 1 ? NO_FRAMES : frames.slice(1));
  if (!Array.isArray(h) || h.length !== 11) throw new DecodeError("first frame is not a msgpack array");
  const type = checkFields(h, WIRE_VERSION);
  if (h[9] !== n - 1) {
    throw new DecodeError(`header announces ${String(h[9])} attachments but ${n - 1} frames follow`);
  }
  return messageOf(h, type, h[10]);
}

/** Version 1: `[header (10 fields), body, ...attachments]`. */
function decodeLegacy(frames: readonly Uint8Array[]): Message {
  if (frames.length < 2) {
    throw new DecodeError(`a version 1 message has at least 2 frames; this one has ${frames.length}`);
  }
  // A version 1 header holds no attachment references: one there is an error (not skipped).
  const h = unpackSmall(frames[0] as Uint8Array);
  if (!Array.isArray(h) || h.length !== 10) throw new DecodeError("header is not a msgpack array");
  const type = checkFields(h, LEGACY_WIRE_VERSION);
  if (h[9] !== frames.length - 2) {
    throw new DecodeError(
      `header announces ${String(h[9])} attachments but ${frames.length - 2} frames follow`,
    );
  }
  return messageOf(h, type, unpackValue(frames[1] as Uint8Array, frames.slice(2)));
}
