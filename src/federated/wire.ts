/**
 * Hand-written protobuf encoding of the hot frames (Chunk, and Session frames holding a Chunk or an Ack).
 *
 * Every task and reply crosses these frames, and the generic protobufjs path (fromObject, toObject with
 * defaults) costs more than the transport itself for small tasks. The bytes are exactly those of
 * `proto/federated.proto` (which stays the contract); any other frame goes through protobufjs. A chunk
 * may carry its data as `parts` (the codec frames), written straight into the protobuf buffer, so the
 * sender never joins them first.
 * @module
 */
import type { ChunkFrame, ChunkKind } from "./protocol.ts";

const KINDS: readonly ChunkKind[] = ["CHUNK_KIND_UNSPECIFIED", "TASK", "REPLY", "MESSAGE"];
const KIND_NUMBER: Record<string, number> = { CHUNK_KIND_UNSPECIFIED: 0, TASK: 1, REPLY: 2, MESSAGE: 3 };
/** Field 2 (length-delimited): `chunk` in NodeFrame and ResearcherFrame. */
const TAG_FRAME_CHUNK = 0x12;
/** Field 3 (length-delimited): `ack` in NodeFrame and ResearcherFrame. */
const TAG_FRAME_ACK = 0x1a;
/** Field 7 (length-delimited): `batch` in NodeFrame and ResearcherFrame. */
const TAG_FRAME_BATCH = 0x3a;
const EMPTY = Buffer.alloc(0);

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function readVarint(buf: Uint8Array, state: { pos: number }): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[state.pos++];
    if (b === undefined) throw new RangeError("truncated varint");
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
  throw new RangeError("varint too long");
}

function dataLength(c: ChunkFrame): number {
  if (c.parts === undefined) return c.data.byteLength;
  let n = 0;
  for (const p of c.parts) n += p.byteLength;
  return n;
}

function chunkBodySize(c: ChunkFrame, dataBytes: number): number {
  let size = 0;
  if (c.messageId !== "") {
    const n = Buffer.byteLength(c.messageId);
    size += 1 + varintSize(n) + n;
  }
  if (c.index !== 0) size += 1 + varintSize(c.index);
  if (c.count !== 0) size += 1 + varintSize(c.count);
  if (dataBytes > 0) size += 1 + varintSize(dataBytes) + dataBytes;
  const kind = KIND_NUMBER[c.kind] ?? 0;
  if (kind !== 0) size += 2;
  if (c.requestId !== undefined && c.requestId !== "") {
    const n = Buffer.byteLength(c.requestId);
    size += 1 + varintSize(n) + n;
  }
  if (c.nodeId !== undefined && c.nodeId !== "") {
    const n = Buffer.byteLength(c.nodeId);
    size += 1 + varintSize(n) + n;
  }
  return size;
}

function writeString(buf: Buffer, pos: number, tag: number, s: string): number {
  buf[pos++] = tag;
  const n = Buffer.byteLength(s);
  pos = writeVarint(buf, pos, n);
  return pos + buf.write(s, pos, n, "utf8");
}

function writeChunkBody(buf: Buffer, pos: number, c: ChunkFrame, dataBytes: number): number {
  if (c.messageId !== "") pos = writeString(buf, pos, 0x0a, c.messageId);
  if (c.index !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, c.index);
  }
  if (c.count !== 0) {
    buf[pos++] = 0x18;
    pos = writeVarint(buf, pos, c.count);
  }
  if (dataBytes > 0) {
    buf[pos++] = 0x22;
    pos = writeVarint(buf, pos, dataBytes);
    if (c.parts === undefined) {
      buf.set(c.data, pos);
      pos += dataBytes;
    } else {
      for (const p of c.parts) {
        buf.set(p, pos);
        pos += p.byteLength;
      }
    }
  }
  const kind = KIND_NUMBER[c.kind] ?? 0;
  if (kind !== 0) {
    buf[pos++] = 0x28;
    buf[pos++] = kind;
  }
  if (c.requestId !== undefined && c.requestId !== "") pos = writeString(buf, pos, 0x32, c.requestId);
  if (c.nodeId !== undefined && c.nodeId !== "") pos = writeString(buf, pos, 0x3a, c.nodeId);
  return pos;
}

/**
 * Protobuf bytes of a Chunk message.
 * @example
 * ```ts
 * const bytes = encodeChunk({ messageId: "m", index: 0, count: 1, data, kind: "TASK" });
 * ```
 */
export function encodeChunk(c: ChunkFrame): Buffer {
  const dataBytes = dataLength(c);
  const buf = Buffer.allocUnsafe(chunkBodySize(c, dataBytes));
  writeChunkBody(buf, 0, c, dataBytes);
  return buf;
}

/**
 * Protobuf bytes of a NodeFrame / ResearcherFrame whose one field is `chunk` (field 2).
 * @example `encodeChunkFrame(chunk)`
 */
export function encodeChunkFrame(c: ChunkFrame): Buffer {
  const dataBytes = dataLength(c);
  const body = chunkBodySize(c, dataBytes);
  const buf = Buffer.allocUnsafe(1 + varintSize(body) + body);
  buf[0] = TAG_FRAME_CHUNK;
  writeChunkBody(buf, writeVarint(buf, 1, body), c, dataBytes);
  return buf;
}

/**
 * Protobuf bytes of a NodeFrame / ResearcherFrame whose one field is `ack` (field 3).
 * @example `encodeAckFrame(["m1", "m2"])`
 */
export function encodeAckFrame(ids: readonly string[]): Buffer {
  let body = 0;
  const lengths = ids.map((id) => Buffer.byteLength(id));
  for (const n of lengths) body += 1 + varintSize(n) + n;
  const buf = Buffer.allocUnsafe(1 + varintSize(body) + body);
  buf[0] = TAG_FRAME_ACK;
  let pos = writeVarint(buf, 1, body);
  for (const id of ids) pos = writeString(buf, pos, 0x0a, id);
  return buf;
}

/**
 * Protobuf bytes of a NodeFrame / ResearcherFrame whose one field is `batch` (field 7): a ChunkBatch of
 * the given chunks, each written once, straight into the result.
 * @example `encodeBatchFrame([chunkA, chunkB])`
 */
export function encodeBatchFrame(chunks: readonly ChunkFrame[]): Buffer {
  const dataBytes = chunks.map(dataLength);
  const bodies = chunks.map((c, i) => chunkBodySize(c, dataBytes[i] as number));
  let batch = 0;
  for (const b of bodies) batch += 1 + varintSize(b) + b;
  const buf = Buffer.allocUnsafe(1 + varintSize(batch) + batch);
  buf[0] = TAG_FRAME_BATCH;
  let pos = writeVarint(buf, 1, batch);
  for (let i = 0; i < chunks.length; i++) {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, bodies[i] as number);
    pos = writeChunkBody(buf, pos, chunks[i] as ChunkFrame, dataBytes[i] as number);
  }
  return buf;
}

function skipField(buf: Uint8Array, state: { pos: number }, wire: number): void {
  if (wire === 0) readVarint(buf, state);
  else if (wire === 1) state.pos += 8;
  else if (wire === 2) state.pos += readVarint(buf, state);
  else if (wire === 5) state.pos += 4;
  else throw new RangeError(`unsupported wire type ${wire}`);
}

function readString(buf: Buffer, state: { pos: number }): string {
  const n = readVarint(buf, state);
  const s = buf.toString("utf8", state.pos, state.pos + n);
  state.pos += n;
  return s;
}

/**
 * Decodes the Chunk message in `buf[start, end)`; `data` is a view of `buf` (no copy). Missing fields
 * take their proto3 defaults, as protobufjs with `defaults: true` gives them.
 * @example `const chunk = decodeChunk(bytes)`
 */
export function decodeChunk(buf: Buffer, start = 0, end = buf.byteLength): ChunkFrame {
  const c: ChunkFrame = {
    messageId: "",
    index: 0,
    count: 0,
    data: EMPTY,
    kind: "CHUNK_KIND_UNSPECIFIED",
    requestId: "",
    nodeId: "",
  };
  const state = { pos: start };
  while (state.pos < end) {
    const tag = readVarint(buf, state);
    switch (tag) {
      case 0x0a:
        c.messageId = readString(buf, state);
        break;
      case 0x10:
        c.index = readVarint(buf, state);
        break;
      case 0x18:
        c.count = readVarint(buf, state);
        break;
      case 0x22: {
        const n = readVarint(buf, state);
        c.data = buf.subarray(state.pos, state.pos + n);
        state.pos += n;
        break;
      }
      case 0x28:
        c.kind = KINDS[readVarint(buf, state)] ?? "CHUNK_KIND_UNSPECIFIED";
        break;
      case 0x32:
        c.requestId = readString(buf, state);
        break;
      case 0x3a:
        c.nodeId = readString(buf, state);
        break;
      default:
        skipField(buf, state, tag & 7);
    }
  }
  if (state.pos !== end) throw new RangeError("chunk overruns its frame");
  return c;
}

/**
 * Decodes a Session frame holding only a chunk or an ack; undefined for any other frame (left to
 * protobufjs).
 * @example `const frame = decodeHotFrame(bytes) ?? slowPath(bytes)`
 */
export function decodeHotFrame(
  buf: Buffer,
):
  | { kind: "chunk"; chunk: ChunkFrame }
  | { kind: "ack"; ack: { messageIds: string[] } }
  | { kind: "batch"; batch: { chunks: ChunkFrame[] } }
  | undefined {
  const tag = buf[0];
  if (tag !== TAG_FRAME_CHUNK && tag !== TAG_FRAME_ACK && tag !== TAG_FRAME_BATCH) return undefined;
  const state = { pos: 1 };
  const len = readVarint(buf, state);
  if (state.pos + len !== buf.byteLength) return undefined;
  if (tag === TAG_FRAME_CHUNK) return { kind: "chunk", chunk: decodeChunk(buf, state.pos, buf.byteLength) };
  if (tag === TAG_FRAME_BATCH) {
    const chunks: ChunkFrame[] = [];
    while (state.pos < buf.byteLength) {
      const t = readVarint(buf, state);
      if (t !== 0x0a) {
        skipField(buf, state, t & 7);
        continue;
      }
      const n = readVarint(buf, state);
      chunks.push(decodeChunk(buf, state.pos, state.pos + n));
      state.pos += n;
    }
    return { kind: "batch", batch: { chunks } };
  }
  const messageIds: string[] = [];
  while (state.pos < buf.byteLength) {
    const t = readVarint(buf, state);
    if (t === 0x0a) messageIds.push(readString(buf, state));
    else skipField(buf, state, t & 7);
  }
  return { kind: "ack", ack: { messageIds } };
}
