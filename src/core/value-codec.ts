/**
 * Values ⇄ msgpack bytes, with large binary values as their own frames (attachments).
 *
 * Typed arrays and Buffers of at least `attachmentThreshold` bytes are not copied into the msgpack
 * bytes: these hold a small reference (ext type 0x30) and the binary travels as its own frame, sharing
 * memory with the caller's array; Maps travel as ext type 0x31 so that they decode as Maps again.
 * `codec.ts` builds messages on this; the pipeline, the tube and the federated part pack their own
 * records with it. `docs/wire-protocol.md` documents every byte.
 *
 * msgpackr is configured here and only here, for plain standard msgpack (`useRecords: false`).
 * @module
 */
import { Packr, addExtension } from "msgpackr";
import { DecodeError, EncodeError } from "./errors.ts";
import { unpackInlineTypedArray } from "./head-reader.ts";
import { TYPED_ARRAY_EXT } from "./head-writer.ts";

/**
 * msgpack ext type of an attachment reference inside the body.
 * @example
 * ```ts
 * const { attachments } = packValue({ image: new Uint8Array(4096) });
 * // the body holds an ext ATTACHMENT_EXT_TYPE reference; attachments[0] holds the 4096 bytes
 * ```
 */
export const ATTACHMENT_EXT_TYPE = 0x30;
/**
 * msgpack ext type of a `Map` (data: msgpack array `[k1, v1, k2, v2, …]`).
 * @example
 * ```ts
 * const { body } = packValue(new Map([["a", 1]])); // encoded as ext MAP_EXT_TYPE
 * unpackValue(body); // Map { "a" => 1 }
 * ```
 */
export const MAP_EXT_TYPE = 0x31;
/**
 * Default size from which binary values travel as their own frame.
 * @example
 * ```ts
 * packValue(new Uint8Array(DEFAULT_ATTACHMENT_THRESHOLD)).attachments.length; // 1
 * packValue(new Uint8Array(16)).attachments.length; // 0: copied into the body
 * ```
 */
export const DEFAULT_ATTACHMENT_THRESHOLD = 1024;
/** Nesting deeper than this is refused (it is almost always a cycle). */
const MAX_DEPTH = 256;

/**
 * Limits and thresholds of the codec.
 * @example
 * ```ts
 * const options: CodecOptions = { maxMessageBytes: 64 * 1024 * 1024, attachmentThreshold: 4096 };
 * const frames = encodeMessage(msg, options);
 * const back = decodeMessage(frames, options);
 * ```
 */
export interface CodecOptions {
  /** Largest total size of one message's frames, in bytes. Default 1 GiB. */
  maxMessageBytes?: number;
  /** Largest number of frames of one message. Default 65 536. */
  maxFrames?: number;
  /** Binary values of at least this many bytes become attachments. Default 1024. */
  attachmentThreshold?: number;
}

/** Element kinds of attachments, as written on the wire (numpy-like names). */
const KINDS = {
  uint8: Uint8Array,
  uint8clamped: Uint8ClampedArray,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
} as const;
type Kind = keyof typeof KINDS | "buffer";
type AnyTypedArray = InstanceType<(typeof KINDS)[keyof typeof KINDS]>;

function kindOf(view: ArrayBufferView): Kind | undefined {
  if (Buffer.isBuffer(view)) return "buffer";
  switch (view.constructor) {
    case Uint8Array:
      return "uint8";
    case Uint8ClampedArray:
      return "uint8clamped";
    case Int8Array:
      return "int8";
    case Uint16Array:
      return "uint16";
    case Int16Array:
      return "int16";
    case Uint32Array:
      return "uint32";
    case Int32Array:
      return "int32";
    case Float32Array:
      return "float32";
    case Float64Array:
      return "float64";
    case BigInt64Array:
      return "int64";
    case BigUint64Array:
      return "uint64";
    default:
      return undefined;
  }
}

/** Placeholder for attachment `index` (frame `1 + index`; frame `2 + index` in wire version 1). */
class AttachmentRef {
  /** msgpack `[index, kind, length]`, packed before the body so that packing never re-enters msgpackr. */
  readonly bytes: Buffer;
  constructor(index: number, kind: Kind, length: number) {
    this.bytes = packr.pack([index, kind, length]);
  }
}

/** Wrapper that makes a Map travel as ext 0x31 so it decodes as a Map again. */
class MapBox {
  /** msgpack `[k1, v1, …]`, packed before the body (see AttachmentRef). */
  readonly bytes: Buffer;
  constructor(entries: unknown[]) {
    this.bytes = packr.pack(entries);
  }
}

const PACKR_OPTIONS = {
  useRecords: false,
  moreTypes: true,
  int64AsType: "bigint",
  mapsAsObjects: true,
} as const;
const packr = new Packr(PACKR_OPTIONS);
/** msgpackr's encoding of a payload the head writer does not write itself. */
export const packPayload = (value: unknown): Uint8Array => packr.pack(value);
// Attachment frames of the message being decoded; set only for the synchronous span of one unpack.
let decodingAttachments: readonly Uint8Array[] | undefined;
let decodingUsed: boolean[] = [];
// True while only the header fields of a version 2 frame are wanted: references decode as null.
let skippingAttachments = false;

/**
 * A Map extension met while one of this module's unpacks runs: its entries are read once the value around
 * it is decoded. Reading them at once would start a second msgpackr decode inside the first, and msgpackr
 * then copies the whole body to keep its place: every Map cost a copy of the body (a body of 4 000 small
 * Maps took 38 ms to decode instead of 0.2 for the same objects), and the values after it came from that
 * copy (a Buffer as a plain Uint8Array).
 */
class PendingMap {
  constructor(readonly data: Uint8Array) {}
}
// Depth of this module's unpacks in progress (Map extensions are deferred only inside them), and the
// number of PendingMaps made so far (an unpack that made none has nothing to resolve).
let unpacking = 0;
let pendingMade = 0;

/** A Map extension's value: deferred inside this module's unpacks; for any other msgpackr caller, read now. */
function unpackMapExtension(data: Uint8Array): unknown {
  if (unpacking > 0) {
    pendingMade++;
    return new PendingMap(data);
  }
  return mapOf(packr.unpack(data));
}

/** `packr.unpack(bytes)` with its Map extensions read; `depth`: Maps around these bytes. */
function unpackSource(bytes: Uint8Array, depth = 0): unknown {
  const made = pendingMade;
  let value: unknown;
  unpacking++;
  try {
    value = packr.unpack(bytes);
  } finally {
    unpacking--;
  }
  return pendingMade === made ? value : resolveMaps(value, depth);
}

/** The Map of a Map extension's decoded `[k1, v1, …]` list. */
function mapOf(flat: unknown): Map<unknown, unknown> {
  if (!Array.isArray(flat) || flat.length % 2 !== 0)
    throw new DecodeError("map extension is not a key/value list");
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
  return map;
}

/**
 * `value` with every PendingMap replaced by its Map, in place. PendingMaps sit only where the encoder puts
 * Maps it boxed: in arrays, plain objects and other Maps' entries.
 */
function resolveMaps(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return value;
  // A Map is two levels here (itself and its entry list), one for the encoder's limit.
  if (depth > 2 * MAX_DEPTH) throw new DecodeError(`value nests deeper than ${MAX_DEPTH} levels`);
  if (value instanceof PendingMap) return mapOf(unpackSource(value.data, depth + 1));
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = resolveMaps(value[i], depth + 1);
    return value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = resolveMaps(record[key], depth + 1);
  return value;
}

addExtension({
  Class: AttachmentRef,
  type: ATTACHMENT_EXT_TYPE,
  pack: (ref: AttachmentRef) => ref.bytes,
  unpack: (data: Uint8Array) => resolveAttachment(readAttachmentRef(data)),
});
addExtension({
  Class: MapBox,
  type: MAP_EXT_TYPE,
  pack: (box: MapBox) => box.bytes,
  unpack: unpackMapExtension,
});
// Typed arrays below the attachment threshold travel inline as msgpackr's ext 0x74; they decode as views
// on the received frame where aligned (see head-reader.ts).
addExtension({ type: TYPED_ARRAY_EXT, unpack: unpackInlineTypedArray });

/**
 * Reads the msgpack `[index, kind, length]` of an attachment reference without calling msgpackr again:
 * a nested msgpackr unpack copies the outer input, which costs time and turns later Buffers into plain
 * Uint8Arrays.
 */
function readAttachmentRef(data: Uint8Array): unknown[] {
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > data.length) throw new DecodeError("attachment reference is truncated");
  };
  const readUint = (): number => {
    need(1);
    const b = data[pos++] as number;
    if (b <= 0x7f) return b;
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    // Any msgpack number encoding is accepted (other languages' writers choose differently).
    const sizes: Record<number, number> = {
      0xcc: 1,
      0xcd: 2,
      0xce: 4,
      0xcf: 8,
      0xd0: 1,
      0xd1: 2,
      0xd2: 4,
      0xd3: 8,
      0xca: 4,
      0xcb: 8,
    };
    const size = sizes[b];
    if (size === undefined) throw new DecodeError("attachment reference field is not a number");
    need(size);
    const at = pos;
    pos += size;
    let value: number;
    if (b === 0xcc) value = view.getUint8(at);
    else if (b === 0xcd) value = view.getUint16(at);
    else if (b === 0xce) value = view.getUint32(at);
    else if (b === 0xcf) value = Number(view.getBigUint64(at));
    else if (b === 0xd0) value = view.getInt8(at);
    else if (b === 0xd1) value = view.getInt16(at);
    else if (b === 0xd2) value = view.getInt32(at);
    else if (b === 0xd3) value = Number(view.getBigInt64(at));
    else if (b === 0xca) value = view.getFloat32(at);
    else value = view.getFloat64(at);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new DecodeError("attachment reference number is not a non-negative integer");
    }
    return value;
  };
  const readStr = (): string => {
    need(1);
    const b = data[pos++] as number;
    let len: number;
    if (b >= 0xa0 && b <= 0xbf) len = b - 0xa0;
    else if (b === 0xd9) {
      need(1);
      len = data[pos++] as number;
    } else if (b === 0xda) {
      need(2);
      len = ((data[pos] as number) << 8) | (data[pos + 1] as number);
      pos += 2;
    } else throw new DecodeError("attachment reference kind is not a string");
    need(len);
    const text = Buffer.from(data.buffer, data.byteOffset + pos, len).toString("utf8");
    pos += len;
    return text;
  };
  need(1);
  const head = data[pos++] as number;
  let count = head >= 0x90 && head <= 0x9f ? head - 0x90 : -1;
  if (head === 0xdc) {
    need(2);
    count = ((data[pos] as number) << 8) | (data[pos + 1] as number);
    pos += 2;
  }
  if (count !== 3) throw new DecodeError("attachment reference is not a 3-element array");
  const ref = [readUint(), readStr(), readUint()];
  if (pos !== data.length) throw new DecodeError("attachment reference has trailing bytes");
  return ref;
}

function resolveAttachment(ref: unknown): unknown {
  if (skippingAttachments) return null;
  if (decodingAttachments === undefined) throw new DecodeError("attachment reference outside a message body");
  if (!Array.isArray(ref) || ref.length !== 3)
    throw new DecodeError("attachment reference is not [index, kind, length]");
  const [index, kind, length] = ref as [unknown, unknown, unknown];
  if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= decodingAttachments.length) {
    throw new DecodeError(
      `attachment reference ${String(index)} has no frame (message has ${decodingAttachments.length})`,
    );
  }
  if (decodingUsed[index as number]) throw new DecodeError(`attachment ${String(index)} is referenced twice`);
  decodingUsed[index as number] = true;
  const frame = decodingAttachments[index as number] as Uint8Array;
  if (kind === "buffer") {
    if (length !== frame.byteLength) throw new DecodeError(`attachment ${String(index)} length mismatch`);
    return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  }
  if (typeof kind !== "string" || !Object.hasOwn(KINDS, kind)) {
    throw new DecodeError(`attachment ${String(index)} has unknown element kind ${JSON.stringify(kind)}`);
  }
  const Ctor = KINDS[kind as keyof typeof KINDS];
  if (!Number.isInteger(length) || (length as number) * Ctor.BYTES_PER_ELEMENT !== frame.byteLength) {
    throw new DecodeError(
      `attachment ${String(index)}: ${String(length)} ${kind} elements do not fill a ${frame.byteLength}-byte frame`,
    );
  }
  if (frame.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    return new Ctor(frame.buffer as ArrayBuffer, frame.byteOffset, length as number);
  }
  // Misaligned for the element type: the one case where decoding copies.
  const copy = new Uint8Array(frame.byteLength);
  copy.set(frame);
  return new Ctor(copy.buffer, 0, length as number);
}

/**
 * Replaces large binary values of `value` by attachment references (their frames are pushed onto
 * `attachments`) and Maps by their extension boxes; the input is not changed (copies where needed).
 * @example
 * ```ts
 * const attachments: Uint8Array[] = [];
 * const payload = extract({ w: new Float32Array(1024) }, attachments, DEFAULT_ATTACHMENT_THRESHOLD, 0);
 * attachments.length; // 1
 * ```
 */
export function extract(
  value: unknown,
  attachments: Uint8Array[],
  threshold: number,
  depth: number,
): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DEPTH)
    throw new EncodeError(`value nests deeper than ${MAX_DEPTH} levels (is it circular?)`);
  if (ArrayBuffer.isView(value)) {
    if (value.byteLength < threshold || value instanceof DataView) return value;
    const kind = kindOf(value);
    if (kind === undefined) return value;
    const frame = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const length = kind === "buffer" ? value.byteLength : (value as AnyTypedArray).length;
    attachments.push(frame);
    return new AttachmentRef(attachments.length - 1, kind, length);
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const replaced = extract(item, attachments, threshold, depth + 1);
      if (replaced !== item && out === undefined) out = value.slice(0, i);
      if (out !== undefined) out.push(replaced);
    }
    return out ?? value;
  }
  if (value instanceof Map) {
    const flat: unknown[] = [];
    for (const [k, v] of value) {
      // Keys too: a Map or large typed array used as a key must survive the round trip.
      flat.push(extract(k, attachments, threshold, depth + 1), extract(v, attachments, threshold, depth + 1));
    }
    return new MapBox(flat);
  }
  if (value instanceof Date || value instanceof RegExp || value instanceof Set || value instanceof Error)
    return value;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const replaced = extract(item, attachments, threshold, depth + 1);
    if (replaced !== item) {
      out ??= { ...(value as Record<string, unknown>) };
      out[key] = replaced;
    }
  }
  return out ?? value;
}

/**
 * A value split into its msgpack body and its attachment frames.
 * @example
 * ```ts
 * const packed: PackedValue = packValue({ weights: new Float32Array(1024) });
 * const value = unpackValue(packed.body, packed.attachments);
 * ```
 */
export interface PackedValue {
  /** msgpack bytes of the value, with references in place of attachments. */
  body: Buffer;
  /** One frame per large binary value, sharing memory with the input. */
  attachments: Uint8Array[];
}

/**
 * Encodes any supported value into a msgpack body and zero-copy attachment frames.
 * @example
 * ```ts
 * const { body, attachments } = packValue({ weights: new Float32Array(1 << 20) });
 * attachments[0].buffer === weights.buffer; // true: not copied
 * ```
 */
export function packValue(value: unknown, options: CodecOptions = {}): PackedValue {
  const attachments: Uint8Array[] = [];
  const threshold = options.attachmentThreshold ?? DEFAULT_ATTACHMENT_THRESHOLD;
  let body: Buffer;
  try {
    body = packr.pack(extract(value, attachments, threshold, 0));
  } catch (err) {
    if (err instanceof EncodeError) throw err;
    throw new EncodeError(`value cannot be encoded: ${(err as Error).message}`, { cause: err });
  }
  return { body, attachments };
}

/** Shared "used" list of bodies without attachments (nothing to mark). */
const NONE_USED: boolean[] = [];

/**
 * Decodes a body and its attachment frames back into the value. Malformed input raises {@link DecodeError}.
 * @example
 * ```ts
 * const value = unpackValue(body, attachments);
 * ```
 */
export function unpackValue(body: Uint8Array, attachments: readonly Uint8Array[] = []): unknown {
  const previous = decodingAttachments;
  const previousUsed = decodingUsed;
  decodingAttachments = attachments;
  decodingUsed = attachments.length === 0 ? NONE_USED : new Array<boolean>(attachments.length).fill(false);
  try {
    const value = unpackSource(body);
    const unused = decodingUsed.indexOf(false);
    if (unused !== -1) throw new DecodeError(`attachment frame ${unused} is not referenced by the body`);
    return value;
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`body is not valid msgpack: ${(err as Error).message}`, { cause: err });
  } finally {
    decodingAttachments = previous;
    decodingUsed = previousUsed;
  }
}

/**
 * Plain msgpack encoding of a small value (no attachments); for control frames and headers.
 * @example
 * ```ts
 * const bytes = packSmall(["ping", 1]);
 * ```
 */
export function packSmall(value: unknown): Buffer {
  return packr.pack(value);
}

/**
 * Decodes bytes made by {@link packSmall}; malformed input raises {@link DecodeError}.
 * @example
 * ```ts
 * const [kind, seq] = unpackSmall(bytes) as [string, number];
 * ```
 */
export function unpackSmall(bytes: Uint8Array): unknown {
  try {
    return unpackSource(bytes);
  } catch (err) {
    throw new DecodeError(`frame is not valid msgpack: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Decodes the first frame of a version 2 message for its header fields only: attachment references in
 * its payload decode as `null` instead of needing their frames. Malformed input raises {@link DecodeError}.
 * @example
 * ```ts
 * const fields = unpackSkippingAttachments(frames[0]) as unknown[]; // fields[10] holds nulls for references
 * ```
 */
export function unpackSkippingAttachments(bytes: Uint8Array): unknown {
  const previous = skippingAttachments;
  skippingAttachments = true;
  try {
    return unpackSmall(bytes);
  } finally {
    skippingAttachments = previous;
  }
}
