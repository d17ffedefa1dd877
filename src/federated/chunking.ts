/**
 * Cutting a weft message into chunks and putting it back together.
 *
 * The bytes of a chunked message are a 4-byte big-endian length L, L bytes of msgpack array of the codec
 * frames' lengths, then the frames back to back. Chunks are views of the caller's frames wherever a chunk
 * lies inside one frame, so a 100 MB Float32Array is never copied whole on the sending side; the receiver
 * allocates each frame once, at its own aligned ArrayBuffer, so typed arrays decode as views.
 * @module
 */
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeMessage,
  encodeMessage,
  packSmall,
  unpackSmall,
} from "../core/codec.ts";
import { DecodeError } from "../core/errors.ts";
import type { Message } from "../core/message.ts";

/**
 * Default largest chunk data size: 4 MiB less 4 KiB left for the gRPC and protobuf envelope, so that no
 * gRPC message exceeds gRPC's default 4 MiB receive limit.
 * @example
 * ```ts
 * const prepared = prepareChunks(message, DEFAULT_CHUNK_BYTES);
 * prepared.count; // 1 for any message under about 4 MiB
 * ```
 */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024 - 4096;
/** Smallest accepted chunk size. */
export const MIN_CHUNK_BYTES = 1024;

/** A message ready to be cut into chunks. */
export interface ChunkedMessage {
  /** The codec frames; chunks are views of them. */
  frames: Uint8Array[];
  /** Total bytes of the chunked form. */
  totalBytes: number;
  /** Number of chunks at the chunk size it was prepared with. */
  count: number;
  /** Chunk size it was prepared with. */
  chunkBytes: number;
  /** The 4-byte length and msgpack frame table. */
  head: Uint8Array;
}

/**
 * Encodes `message` and computes its chunk layout (no bytes are copied yet).
 * @example
 * ```ts
 * const prepared = prepareChunks(message, DEFAULT_CHUNK_BYTES);
 * for (const data of chunkData(prepared)) stream.write({ chunk: { data, ... } });
 * ```
 */
export function prepareChunks(message: Message, chunkBytes: number = DEFAULT_CHUNK_BYTES): ChunkedMessage {
  const frames = encodeMessage(message);
  return prepareFrames(frames, chunkBytes);
}

/** Layout of already encoded frames. @example `prepareFrames(encodeMessage(m), 1 << 20)` */
export function prepareFrames(
  frames: Uint8Array[],
  chunkBytes: number = DEFAULT_CHUNK_BYTES,
): ChunkedMessage {
  // The length and the table share one small pooled Buffer: a fresh ArrayBuffer per message (what
  // `new Uint8Array` makes) costs more to allocate and to collect than the whole head is worth.
  const head = packHead(frames);
  let totalBytes = head.byteLength;
  for (const f of frames) totalBytes += f.byteLength;
  return { frames, totalBytes, count: Math.max(1, Math.ceil(totalBytes / chunkBytes)), chunkBytes, head };
}

/**
 * The data of each chunk, in order. A chunk inside one frame is a view of it; a chunk that spans frame
 * boundaries is a small copy of the pieces.
 * @example
 * ```ts
 * let index = 0;
 * for (const data of chunkData(prepared)) send({ index: index++, count: prepared.count, data });
 * ```
 */
export function* chunkData(prepared: ChunkedMessage): Generator<Uint8Array> {
  const parts = [prepared.head, ...prepared.frames];
  const size = prepared.chunkBytes;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for (const part of parts) {
    let offset = 0;
    while (offset < part.byteLength) {
      const take = Math.min(size - pendingBytes, part.byteLength - offset);
      pending.push(part.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === size) {
        yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0 || prepared.totalBytes === 0) {
    yield pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending);
  }
}

/**
 * The pieces of a message that fits one chunk (head, then the codec frames), to be written as one
 * chunk's data without joining them.
 * @example `if (prepared.count === 1) write({ ...chunk, parts: singleChunkParts(prepared) })`
 */
export function singleChunkParts(prepared: ChunkedMessage): Uint8Array[] {
  return [prepared.head, ...prepared.frames];
}

/**
 * The 4-byte big-endian table length, then the msgpack array of the frames' lengths, written directly:
 * the same few bytes msgpackr would write, without a general encoder call per message.
 */
function packHead(frames: readonly Uint8Array[]): Uint8Array {
  const n = frames.length;
  if (n > 0xffff) {
    const table = packSmall(frames.map((f) => f.byteLength));
    const head = Buffer.allocUnsafe(4 + table.byteLength);
    head.writeUInt32BE(table.byteLength, 0);
    head.set(table, 4);
    return head;
  }
  const out = Buffer.allocUnsafe(4 + (n < 16 ? 1 : 3) + 9 * n);
  let pos = 4;
  if (n < 16) out[pos++] = 0x90 | n;
  else {
    out[pos++] = 0xdc;
    out.writeUInt16BE(n, pos);
    pos += 2;
  }
  for (const f of frames) {
    const v = f.byteLength;
    if (v < 0x80) out[pos++] = v;
    else if (v < 0x100) {
      out[pos++] = 0xcc;
      out[pos++] = v;
    } else if (v < 0x10000) {
      out[pos++] = 0xcd;
      out.writeUInt16BE(v, pos);
      pos += 2;
    } else if (v <= 0xffffffff) {
      out[pos++] = 0xce;
      out.writeUInt32BE(v, pos);
      pos += 4;
    } else {
      out[pos++] = 0xcf;
      out.writeBigUInt64BE(BigInt(v), pos);
      pos += 8;
    }
  }
  out.writeUInt32BE(pos - 4, 0);
  return out.subarray(0, pos);
}

/** Big-endian unsigned 32-bit integer at `pos` (the caller checked the bounds). */
function readUint32(b: Uint8Array, pos: number): number {
  return (
    (b[pos] as number) * 0x1000000 +
    (((b[pos + 1] as number) << 16) | ((b[pos + 2] as number) << 8) | (b[pos + 3] as number))
  );
}

/**
 * Reads a msgpack array of unsigned integers as {@link packHead} writes it, from `bytes[start, end)`;
 * anything else goes to msgpackr. Bytes are read in place: no view or DataView per message.
 */
function unpackLengths(bytes: Uint8Array, start: number, end: number): unknown {
  const b0 = bytes[start];
  if (start >= end || b0 === undefined || (b0 & 0xf0) !== 0x90)
    return unpackSmall(bytes.subarray(start, end));
  const n = b0 & 0x0f;
  const out: number[] = [];
  let pos = start + 1;
  for (let i = 0; i < n; i++) {
    if (pos >= end) throw new DecodeError("frame table ended early");
    const t = bytes[pos] as number;
    if (t < 0x80) {
      out.push(t);
      pos += 1;
    } else if (t === 0xcc && pos + 2 <= end) {
      out.push(bytes[pos + 1] as number);
      pos += 2;
    } else if (t === 0xcd && pos + 3 <= end) {
      out.push(((bytes[pos + 1] as number) << 8) | (bytes[pos + 2] as number));
      pos += 3;
    } else if (t === 0xce && pos + 5 <= end) {
      out.push(readUint32(bytes, pos + 1));
      pos += 5;
    } else return unpackSmall(bytes.subarray(start, end));
  }
  return pos === end ? out : unpackSmall(bytes.subarray(start, end));
}

/** Limits of a {@link Reassembler}. */
export interface ReassemblerOptions {
  /** Largest total size of one message. Default 1 GiB (the codec's limit). */
  maxMessageBytes?: number;
  /** Largest number of messages being reassembled at once. Default 64. */
  maxConcurrent?: number;
}

interface Assembly {
  count: number;
  next: number;
  head: Uint8Array[];
  headBytes: number;
  frames: Uint8Array[] | undefined;
  frameIndex: number;
  frameOffset: number;
  received: number;
}

/**
 * Puts chunks back together, one message id at a time or several interleaved. Chunks of one message must
 * arrive in order (gRPC streams keep order); anything inconsistent raises {@link DecodeError}.
 * @example
 * ```ts
 * const r = new Reassembler();
 * const message = r.push(chunk.messageId, chunk.index, chunk.count, chunk.data); // Message when complete
 * ```
 */
export class Reassembler {
  private readonly assemblies = new Map<string, Assembly>();
  private readonly maxBytes: number;
  private readonly maxConcurrent: number;

  constructor(options: ReassemblerOptions = {}) {
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxConcurrent = options.maxConcurrent ?? 64;
  }

  /** Number of messages partly received. */
  get pending(): number {
    return this.assemblies.size;
  }

  /** Forgets every partial message (e.g. when the stream that carried them ended). */
  clear(): void {
    this.assemblies.clear();
  }

  /** Adds one chunk; returns the whole message once its last chunk arrived, else undefined. */
  push(messageId: string, index: number, count: number, data: Uint8Array): Message | undefined {
    const frames = this.pushFrames(messageId, index, count, data);
    if (frames === undefined) return undefined;
    return decodeMessage(frames, { maxMessageBytes: this.maxBytes });
  }

  /** Like {@link push} but returns the raw codec frames. */
  pushFrames(messageId: string, index: number, count: number, data: Uint8Array): Uint8Array[] | undefined {
    if (messageId === "") throw new DecodeError("chunk has no message id");
    if (!Number.isInteger(count) || count < 1)
      throw new DecodeError(`chunk of ${messageId} has count ${count}`);
    let a = this.assemblies.get(messageId);
    if (a === undefined && count === 1 && index === 0) return this.single(messageId, data);
    if (a === undefined) {
      if (index !== 0) throw new DecodeError(`chunk ${index} of ${messageId} arrived before chunk 0`);
      if (this.assemblies.size >= this.maxConcurrent) {
        throw new DecodeError(`more than ${this.maxConcurrent} chunked messages in progress at once`);
      }
      a = {
        count,
        next: 0,
        head: [],
        headBytes: 0,
        frames: undefined,
        frameIndex: 0,
        frameOffset: 0,
        received: 0,
      };
      this.assemblies.set(messageId, a);
    }
    try {
      if (index !== a.next || count !== a.count) {
        throw new DecodeError(
          `chunk ${index}/${count} of ${messageId} does not follow chunk ${a.next - 1}/${a.count}`,
        );
      }
      a.next++;
      a.received += data.byteLength;
      if (a.received > this.maxBytes + 4 + 65536 * 9) {
        throw new DecodeError(`message ${messageId} exceeds ${this.maxBytes} bytes`);
      }
      let rest = data;
      if (a.frames === undefined) rest = this.consumeHead(a, messageId, rest);
      if (a.frames !== undefined) this.fill(a, messageId, rest);
      if (a.next < a.count) return undefined;
      if (a.frames === undefined || a.frameIndex < a.frames.length) {
        throw new DecodeError(`message ${messageId} ended before all its bytes arrived`);
      }
      this.assemblies.delete(messageId);
      return a.frames;
    } catch (err) {
      this.assemblies.delete(messageId);
      throw err;
    }
  }

  /**
   * A whole message in one chunk: its frames are views of `data`, not copies (the codec copies a typed
   * array only when its view would be misaligned).
   */
  private single(id: string, data: Uint8Array): Uint8Array[] {
    if (data.byteLength < 4) throw new DecodeError(`message ${id} ended before all its bytes arrived`);
    const tableBytes = readUint32(data, 0);
    if (tableBytes > 65536 * 9 + 8 || data.byteLength < 4 + tableBytes)
      throw new DecodeError(`message ${id} has a frame table of ${tableBytes} bytes`);
    const lengths = unpackLengths(data, 4, 4 + tableBytes);
    if (!Array.isArray(lengths)) throw new DecodeError(`message ${id} has a malformed frame table`);
    const frames: Uint8Array[] = [];
    let offset = 4 + tableBytes;
    for (const n of lengths as unknown[]) {
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || offset + n > data.byteLength) {
        throw new DecodeError(
          `message ${id} has a malformed frame table or ended before all its bytes arrived`,
        );
      }
      frames.push(data.subarray(offset, offset + n));
      offset += n;
    }
    if (offset !== data.byteLength)
      throw new DecodeError(`message ${id} has more bytes than its frame table says`);
    if (offset > this.maxBytes + 4 + tableBytes)
      throw new DecodeError(`message ${id} exceeds ${this.maxBytes} bytes`);
    return frames;
  }

  private consumeHead(a: Assembly, id: string, data: Uint8Array): Uint8Array {
    a.head.push(data);
    a.headBytes += data.byteLength;
    if (a.headBytes < 4) return new Uint8Array(0);
    const joined = a.head.length === 1 ? (a.head[0] as Uint8Array) : Buffer.concat(a.head);
    const tableBytes = readUint32(joined, 0);
    if (tableBytes > 65536 * 9 + 8)
      throw new DecodeError(`message ${id} has a frame table of ${tableBytes} bytes`);
    if (joined.byteLength < 4 + tableBytes) {
      a.head = [joined];
      return new Uint8Array(0);
    }
    const lengths = unpackLengths(joined, 4, 4 + tableBytes);
    if (!Array.isArray(lengths) || lengths.some((n) => !Number.isInteger(n) || (n as number) < 0)) {
      throw new DecodeError(`message ${id} has a malformed frame table`);
    }
    const total = (lengths as number[]).reduce((s, n) => s + n, 0);
    if (total > this.maxBytes)
      throw new DecodeError(`message ${id} is ${total} bytes, over the limit of ${this.maxBytes}`);
    // Large frames get their own ArrayBuffer (offset 0) so typed arrays decode as aligned views.
    a.frames = (lengths as number[]).map((n) => (n >= 4096 ? Buffer.allocUnsafeSlow(n) : Buffer.alloc(n)));
    a.head = [];
    this.skipEmpty(a);
    return joined.subarray(4 + tableBytes);
  }

  private skipEmpty(a: Assembly): void {
    const frames = a.frames as Uint8Array[];
    while (a.frameIndex < frames.length && (frames[a.frameIndex] as Uint8Array).byteLength === 0)
      a.frameIndex++;
  }

  private fill(a: Assembly, id: string, data: Uint8Array): void {
    const frames = a.frames as Uint8Array[];
    let offset = 0;
    while (offset < data.byteLength) {
      const frame = frames[a.frameIndex];
      if (frame === undefined)
        throw new DecodeError(`message ${id} has more bytes than its frame table says`);
      const take = Math.min(frame.byteLength - a.frameOffset, data.byteLength - offset);
      frame.set(data.subarray(offset, offset + take), a.frameOffset);
      a.frameOffset += take;
      offset += take;
      if (a.frameOffset === frame.byteLength) {
        a.frameIndex++;
        a.frameOffset = 0;
        this.skipEmpty(a);
      }
    }
  }
}
