/**
 * Writes the first frame of a wire message (msgpack array of the header fields and the payload) by hand.
 *
 * The header is always the same shape (small integers, five short strings, nils), so writing it directly
 * takes a fraction of a general msgpack encoder's time and garbage, and that is most of what a small
 * message costs to encode. Payloads of the common small kinds (nil, booleans, numbers, strings, Buffers and
 * typed arrays below the attachment threshold) are written here too, in the same encoding msgpackr uses;
 * any other payload is packed by msgpackr and copied in. The bytes are plain msgpack: any decoder reads
 * them, and weft's decoder gives back exactly what it gives for msgpackr's encoding.
 * @module
 */
import type { WireHeader } from "./codec.ts";
import { charCodeAt } from "./string-methods.ts";

/**
 * The five strings of a header, in wire order; a {@link Message} is one.
 * @example
 * ```ts
 * const strings: HeadStrings = message; // tag, source, destination, sessionId, messageId
 * ```
 */
export type HeadStrings = Pick<WireHeader, "tag" | "source" | "destination" | "sessionId" | "messageId">;

/**
 * msgpack ext type of an inline typed array (msgpackr's, followed by a type code byte).
 * @example
 * ```ts
 * frame[at] === 0xc7 && frame[at + 2] === TYPED_ARRAY_EXT; // an ext 8 holding a typed array
 * ```
 */
export const TYPED_ARRAY_EXT = 0x74;

/**
 * The typed arrays that travel inline, in the order of msgpackr's type codes (the code is the index).
 * @example
 * ```ts
 * INLINE_TYPED_ARRAYS[7] === Float32Array; // true: code 7 on the wire
 * ```
 */
export const INLINE_TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

const TYPED_ARRAY_CODES = new Map<unknown, number>(INLINE_TYPED_ARRAYS.map((Kind, code) => [Kind, code]));

/** UTF-8 length of `s`; the common all-ASCII case without calling into Buffer. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (charCodeAt(s, i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return s.length;
}

/** Bytes of a type code and an 8-, 16- or 32-bit length (see `Out.length`). */
function lengthSize(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

function strHeadSize(bytes: number): number {
  return bytes < 0x20 ? 1 : lengthSize(bytes);
}

/** Bytes of a msgpack unsigned integer (header fields are never negative). */
function uintSize(n: number): number {
  return n < 0x80 ? 1 : lengthSize(n);
}

/** Bytes `value` takes when written here, or -1 when msgpackr must pack it. */
function payloadSize(value: unknown): number {
  switch (typeof value) {
    case "undefined":
      return 3;
    case "boolean":
      return 1;
    case "number":
      return numberSize(value);
    case "string": {
      const n = utf8Length(value);
      return strHeadSize(n) + n;
    }
    case "object": {
      if (value === null) return 1;
      if (!ArrayBuffer.isView(value)) return -1;
      const n = value.byteLength;
      if (Buffer.isBuffer(value)) return lengthSize(n) + n;
      if (!TYPED_ARRAY_CODES.has(value.constructor)) return -1;
      return lengthSize(n + 1) + 2 + n; // the ext type and the array's type code
    }
    default:
      return -1;
  }
}

function numberSize(v: number): number {
  if (v >>> 0 === v) return uintSize(v);
  if (v >> 0 === v) return v >= -0x20 ? 1 : v >= -0x80 ? 2 : v >= -0x8000 ? 3 : 5;
  return 9;
}

/**
 * A cursor over one output buffer.
 */
class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  uint(n: number): void {
    if (n < 0x80) this.buf[this.pos++] = n;
    else this.length(n, 0xcc); // uint 8 / 16 / 32
  }

  number(v: number): void {
    const b = this.buf;
    if (v >>> 0 === v) this.uint(v);
    else if (v >> 0 === v) {
      if (v >= -0x20) b[this.pos++] = 0x100 + v;
      else if (v >= -0x80) {
        b[this.pos++] = 0xd0;
        b[this.pos++] = 0x100 + v;
      } else if (v >= -0x8000) {
        b[this.pos++] = 0xd1;
        b.writeInt16BE(v, this.pos);
        this.pos += 2;
      } else {
        b[this.pos++] = 0xd2;
        b.writeInt32BE(v, this.pos);
        this.pos += 4;
      }
    } else {
      b[this.pos++] = 0xcb;
      b.writeDoubleBE(v, this.pos);
      this.pos += 8;
    }
  }

  /**
   * An unsigned value (a length, or a uint) in the 8-, 16- or 32-bit form of a msgpack family whose three
   * type codes follow each other (uint 0xcc…, str 0xd9…, bin 0xc4…, ext 0xc7…).
   */
  length(n: number, code8: number): void {
    const b = this.buf;
    if (n < 0x100) {
      b[this.pos++] = code8;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = code8 + 1;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = code8 + 2;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  /** The type and length of a string of `n` UTF-8 bytes. */
  strHead(n: number): void {
    if (n < 0x20) this.buf[this.pos++] = 0xa0 | n;
    else this.length(n, 0xd9);
  }

  /** Writes `s` if it is all ASCII (one byte per character); false, with the output unusable, if not. */
  ascii(s: string): boolean {
    const b = this.buf;
    const n = s.length;
    this.strHead(n);
    for (let i = 0; i < n; i++) {
      const c = charCodeAt(s, i);
      if (c >= 0x80) return false;
      b[this.pos + i] = c;
    }
    this.pos += n;
    return true;
  }

  /** Writes string `s` of `n` UTF-8 bytes (from {@link utf8Length}). */
  str(s: string, n: number): void {
    const b = this.buf;
    this.strHead(n);
    if (n === s.length) {
      for (let i = 0; i < n; i++) b[this.pos + i] = charCodeAt(s, i);
    } else b.write(s, this.pos, n, "utf8");
    this.pos += n;
  }

  bytes(view: ArrayBufferView): void {
    // A Uint8Array (or Buffer) is read as it is; other arrays through a byte view of their memory.
    const src =
      view instanceof Uint8Array ? view : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  payload(value: unknown): void {
    const b = this.buf;
    if (value === undefined) {
      // msgpackr's undefined: fixext 1 of type 0.
      b[this.pos++] = 0xd4;
      b[this.pos++] = 0;
      b[this.pos++] = 0;
    } else if (value === null) b[this.pos++] = 0xc0;
    else if (value === true) b[this.pos++] = 0xc3;
    else if (value === false) b[this.pos++] = 0xc2;
    else if (typeof value === "number") this.number(value);
    else if (typeof value === "string") this.str(value, utf8Length(value));
    else if (Buffer.isBuffer(value)) {
      this.length(value.byteLength, 0xc4);
      this.bytes(value);
    } else {
      const view = value as ArrayBufferView;
      this.length(view.byteLength + 1, 0xc7);
      b[this.pos++] = TYPED_ARRAY_EXT;
      b[this.pos++] = TYPED_ARRAY_CODES.get(view.constructor) as number;
      this.bytes(view);
    }
  }
}

/**
 * The first frame of a message: `[version, flags, tag, source, destination, sessionId, messageId,
 * typeCode, stageCode, attachmentCount, payload]` as one msgpack array. `packOther` packs a payload of a
 * kind not written here (objects, arrays, Maps, attachment references…).
 * @example
 * ```ts
 * const frame = writeHead(message, 2, 0, null, null, 0, new Uint8Array(64), (v) => packr.pack(v));
 * ```
 */
export function writeHead(
  h: HeadStrings,
  version: number,
  flags: number,
  typeCode: number | null,
  stageCode: number | null,
  attachmentCount: number,
  payload: unknown,
  packOther: (v: unknown) => Uint8Array,
): Buffer {
  let other: Uint8Array | undefined;
  let size = payloadSize(payload);
  if (size < 0) {
    other = packOther(payload);
    size = other.byteLength;
  }
  // Sized for all-ASCII header strings (one byte per character), the usual case: each string is then
  // read once, while it is written. A non-ASCII one sends the whole header down the UTF-8 path.
  const asciiSize =
    strSize(h.tag.length) +
    strSize(h.source.length) +
    strSize(h.destination.length) +
    strSize(h.sessionId.length) +
    strSize(h.messageId.length);
  let out = new Out(Buffer.allocUnsafe(size + fieldsSize(attachmentCount) + asciiSize));
  out.byte(0x9b);
  out.byte(version);
  out.byte(flags);
  const ascii =
    out.ascii(h.tag) &&
    out.ascii(h.source) &&
    out.ascii(h.destination) &&
    out.ascii(h.sessionId) &&
    out.ascii(h.messageId);
  if (!ascii) {
    const bytes = [h.tag, h.source, h.destination, h.sessionId, h.messageId].map(utf8Length);
    const utf8Size = bytes.reduce((sum, n) => sum + strSize(n), 0);
    out = new Out(Buffer.allocUnsafe(size + fieldsSize(attachmentCount) + utf8Size));
    out.byte(0x9b);
    out.byte(version);
    out.byte(flags);
    out.str(h.tag, bytes[0]!);
    out.str(h.source, bytes[1]!);
    out.str(h.destination, bytes[2]!);
    out.str(h.sessionId, bytes[3]!);
    out.str(h.messageId, bytes[4]!);
  }
  out.byte(typeCode === null ? 0xc0 : typeCode);
  out.byte(stageCode === null ? 0xc0 : stageCode);
  out.uint(attachmentCount);
  if (other === undefined) out.payload(payload);
  else {
    out.buf.set(other, out.pos);
    out.pos += other.byteLength;
  }
  return out.buf;
}

/** Bytes of a string of `n` UTF-8 bytes, with its type and length. */
function strSize(n: number): number {
  return strHeadSize(n) + n;
}

/** Bytes of the header fields other than the five strings. */
function fieldsSize(attachmentCount: number): number {
  return (
    3 + // array marker, version, flags (both below 128)
    2 + // type and stage codes (nil or below 128)
    uintSize(attachmentCount)
  );
}
