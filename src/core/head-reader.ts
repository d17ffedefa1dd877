/**
 * Reads the first frame of a wire message by hand, the counterpart of `head-writer.ts`.
 *
 * A small message's frame is nearly all header: eleven fields of a fixed shape, five of them short ASCII
 * strings. A general msgpack decoder spends most of a small message's receive time on them; reading the
 * known shape directly takes a fraction of it. Only the usual encoding is read here (the one weft and
 * msgpackr write: ASCII header strings, small integer codes, a payload of a common kind); for anything else
 * {@link readHead} answers `undefined` and the caller decodes the frame with msgpackr, which also produces
 * the precise error for malformed bytes. Payloads of other kinds (objects, arrays, non-ASCII strings…) are
 * handed to the caller's decoder.
 * @module
 */
import { DecodeError } from "./errors.ts";
import { INLINE_TYPED_ARRAYS, TYPED_ARRAY_EXT } from "./head-writer.ts";

/** A typed array carried as msgpackr's ext 0x74 may also be one of these two (code 16, 17). */
const INLINE_ARRAY_BUFFER = 16;
const INLINE_DATA_VIEW = 17;

/** A copy of `length` bytes of `data` from `start` in a new ArrayBuffer (Buffer#slice would share memory). */
function copyOf(data: Uint8Array, start: number, length: number): ArrayBuffer {
  return Uint8Array.prototype.slice.call(data, start, start + length).buffer as ArrayBuffer;
}

/**
 * Decodes the data of an inline typed array (ext 0x74: a type code, then the bytes). msgpackr's own decoder
 * copies every one into a new ArrayBuffer so that it is aligned; each new ArrayBuffer is costly to allocate
 * and to collect, and was most of a small message's garbage. Here the array is a view on the received frame
 * whenever its bytes are aligned (always for 8-bit arrays), and a copy only otherwise.
 * @example
 * ```ts
 * addExtension({ type: 0x74, unpack: unpackInlineTypedArray }); // msgpackr decodes them the same way
 * ```
 */
export function unpackInlineTypedArray(data: Uint8Array): unknown {
  return inlineTypedArray(data, 0, data.byteLength);
}

/** {@link unpackInlineTypedArray} of the `size` bytes of `b` from `start`, without a view on them first. */
function inlineTypedArray(b: Uint8Array, start: number, size: number): unknown {
  const code = b[start];
  const offset = b.byteOffset + start + 1;
  const length = size - 1;
  if (code === INLINE_ARRAY_BUFFER) return copyOf(b, start + 1, length);
  if (code === INLINE_DATA_VIEW) return new DataView(b.buffer, offset, length);
  const Kind = code === undefined ? undefined : INLINE_TYPED_ARRAYS[code];
  if (Kind === undefined) throw new DecodeError(`inline typed array has unknown type code ${String(code)}`);
  const bytesPerElement = Kind.BYTES_PER_ELEMENT;
  if (length % bytesPerElement !== 0) {
    throw new DecodeError(`inline ${Kind.name} has ${length} bytes, not a multiple of ${bytesPerElement}`);
  }
  if (offset % bytesPerElement === 0)
    return new Kind(b.buffer as ArrayBuffer, offset, length / bytesPerElement);
  return new Kind(copyOf(b, start + 1, length));
}

/**
 * A string of `n` ASCII bytes at `p`. `String.fromCharCode` with the codes as arguments makes a flat
 * one-byte string at once, faster for header-sized strings than a native slice call (ids are 13–16).
 */
function shortAscii(b: Uint8Array, p: number, n: number): string {
  // (No helper closure for the indexing: the dev-time transform wraps every closure it creates per call.)
  switch (n) {
    case 0:
      return "";
    case 1:
      // prettier-ignore
      return String.fromCharCode(b[p]!);
    case 2:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!);
    case 3:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!);
    case 4:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
    case 5:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!);
    case 6:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!);
    case 7:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!);
    case 8:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    case 9:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!);
    case 10:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!);
    case 11:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!);
    case 12:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!);
    case 13:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!);
    case 14:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!);
    case 15:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!, b[p + 14]!);
    case 16:
      // prettier-ignore
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!, b[p + 8]!, b[p + 9]!, b[p + 10]!, b[p + 11]!, b[p + 12]!, b[p + 13]!, b[p + 14]!, b[p + 15]!);
    default:
      return Buffer.from(b.buffer, b.byteOffset + p, n).toString("latin1");
  }
}

/**
 * The last string read in one header field, with its bytes. A component hears from few peers about few
 * tags, so the tag, source and destination of a message are nearly always those of an earlier one: giving
 * back the same string avoids making a new one, and lets the maps keyed by it (peers, handlers) use the
 * hash the string already holds instead of hashing a fresh copy.
 */
class RepeatedString {
  private readonly bytes = new Uint8Array(MAX_REPEATED_BYTES);
  private length = -1;
  private text = "";

  /** The ASCII string of the `n` bytes of `b` at `p` (all below 0x80, checked by the caller). */
  read(b: Uint8Array, p: number, n: number): string {
    const bytes = this.bytes;
    if (n === this.length) {
      let i = 0;
      while (i < n && bytes[i] === b[p + i]) i++;
      if (i === n) return this.text;
    }
    const text = shortAscii(b, p, n);
    if (n <= MAX_REPEATED_BYTES) {
      for (let i = 0; i < n; i++) bytes[i] = b[p + i]!;
      this.length = n;
      this.text = text;
    }
    return text;
  }
}

/** Longest header string kept by a {@link RepeatedString}. */
const MAX_REPEATED_BYTES = 64;
const lastTag = new RepeatedString();
const lastSource = new RepeatedString();
const lastDestination = new RepeatedString();

/** A cursor over one frame; every read answers `undefined` (or -1) where the usual encoding ends. */
class In {
  pos = 0;
  constructor(readonly b: Uint8Array) {}

  /** A positive fixint (the version, flags and codes are all below 128). */
  fixint(): number | undefined {
    const v = this.b[this.pos++];
    return v !== undefined && v < 0x80 ? v : undefined;
  }

  /** A session type or stage code: a positive fixint or nil. */
  code(): number | null | undefined {
    const v = this.b[this.pos++];
    if (v === 0xc0) return null;
    return v !== undefined && v < 0x80 ? v : undefined;
  }

  /** The length of an unsigned 8-, 16- or 32-bit field whose 8-bit type code is `code8`, or -1. */
  sized(token: number, code8: number): number {
    const b = this.b;
    const p = this.pos;
    if (token === code8 && p + 1 <= b.length) {
      this.pos = p + 1;
      return b[p]!;
    }
    if (token === code8 + 1 && p + 2 <= b.length) {
      this.pos = p + 2;
      return (b[p]! << 8) | b[p + 1]!;
    }
    if (token === code8 + 2 && p + 4 <= b.length) {
      this.pos = p + 4;
      return b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
    }
    return -1;
  }

  /** An unsigned integer (the attachment count), or -1. */
  uint(): number {
    const t = this.b[this.pos++];
    if (t === undefined) return -1;
    return t < 0x80 ? t : this.sized(t, 0xcc);
  }

  /** The byte length of a string whose type byte is `t`, or -1 when `t` starts no string. */
  strLength(t: number): number {
    return t >= 0xa0 && t <= 0xbf ? t - 0xa0 : this.sized(t, 0xd9);
  }

  /** An all-ASCII string of `n` bytes, or undefined (non-ASCII text, or past the end). */
  ascii(n: number, last?: RepeatedString): string | undefined {
    const b = this.b;
    const p = this.pos;
    if (n < 0 || p + n > b.length) return undefined;
    for (let i = 0; i < n; i++) if ((b[p + i] as number) >= 0x80) return undefined;
    this.pos = p + n;
    return last === undefined ? shortAscii(b, p, n) : last.read(b, p, n);
  }

  /** A header string: only the all-ASCII ones are read here. */
  str(last?: RepeatedString): string | undefined {
    const t = this.b[this.pos++];
    return t === undefined ? undefined : this.ascii(this.strLength(t), last);
  }

  /** A DataView at a `size`-byte field at the cursor (the cursor moves past it), or undefined past the end. */
  field(size: number): DataView | undefined {
    const b = this.b;
    if (this.pos + size > b.length) return undefined;
    const view = new DataView(b.buffer, b.byteOffset + this.pos, size);
    this.pos += size;
    return view;
  }
}

/** Marks a payload this reader does not decode itself. */
const OTHER: unique symbol = Symbol("other payload");

/** The payload at the cursor when it is of a kind read here (it must end the frame), else {@link OTHER}. */
function simplePayload(input: In): unknown {
  const b = input.b;
  const t = b[input.pos++];
  if (t === undefined) return OTHER;
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  const textBytes = input.strLength(t); // fixstr, str 8/16/32
  if (textBytes >= 0) return input.ascii(textBytes) ?? OTHER;
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xcc:
    case 0xcd:
    case 0xce: {
      const v = input.sized(t, 0xcc);
      return v < 0 ? OTHER : v;
    }
    case 0xd0:
      return input.field(1)?.getInt8(0) ?? OTHER;
    case 0xd1:
      return input.field(2)?.getInt16(0) ?? OTHER;
    case 0xd2:
      return input.field(4)?.getInt32(0) ?? OTHER;
    case 0xcb:
      return input.field(8)?.getFloat64(0) ?? OTHER;
    case 0xc4:
    case 0xc5:
    case 0xc6: {
      // As msgpackr: a view on the frame (a Buffer when the frame is one).
      const n = input.sized(t, 0xc4);
      if (n < 0 || input.pos + n > b.length) return OTHER;
      return b.subarray(input.pos, (input.pos += n));
    }
    case 0xc7:
    case 0xc8:
    case 0xc9: {
      const n = input.sized(t, 0xc7);
      if (n < 1 || b[input.pos] !== TYPED_ARRAY_EXT || input.pos + 1 + n > b.length) return OTHER;
      const start = input.pos + 1;
      input.pos = start + n;
      return inlineTypedArray(b, start, n);
    }
    default:
      return OTHER;
  }
}

/**
 * The eleven fields of a version 2 first frame, `[version, flags, tag, source, destination, sessionId,
 * messageId, typeCode, stageCode, attachmentCount, payload]`, exactly as msgpackr would decode them, or
 * `undefined` when the frame is not in the usual encoding (the caller then decodes it with msgpackr).
 * `decodeOther` decodes a payload of a kind not read here from its bytes (the rest of the frame).
 * @example
 * ```ts
 * const fields = readHead(frame, (bytes) => packr.unpack(bytes)) ?? packr.unpack(frame);
 * ```
 */
export function readHead(
  frame: Uint8Array,
  decodeOther: (bytes: Uint8Array) => unknown,
): unknown[] | undefined {
  if (frame[0] !== 0x9b) return undefined;
  const input = new In(frame);
  input.pos = 1;
  const version = input.fixint();
  const flags = input.fixint();
  const tag = input.str(lastTag);
  const source = input.str(lastSource);
  const destination = input.str(lastDestination);
  const sessionId = input.str();
  const messageId = input.str();
  const typeCode = input.code();
  const stageCode = input.code();
  const count = input.uint();
  if (
    version === undefined ||
    flags === undefined ||
    tag === undefined ||
    source === undefined ||
    destination === undefined ||
    sessionId === undefined ||
    messageId === undefined ||
    typeCode === undefined ||
    stageCode === undefined ||
    count < 0
  ) {
    return undefined;
  }
  const start = input.pos;
  let payload = simplePayload(input);
  if (payload === OTHER || input.pos !== frame.length) {
    if (start >= frame.length) return undefined;
    payload = decodeOther(frame.subarray(start));
  }
  return [
    version,
    flags,
    tag,
    source,
    destination,
    sessionId,
    messageId,
    typeCode,
    stageCode,
    count,
    payload,
  ];
}
