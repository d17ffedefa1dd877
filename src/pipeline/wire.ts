/**
 * Wire format of the pipeline router: one ZeroMQ multipart message carries a *batch* of records.
 *
 * Frame 0 is the record table; frames 1… are the binary attachments of the records, in record order.
 * Each record is `u8 kind | u16 nameLength | name (UTF-8) | u32 bodyLength | body | u16 attachmentCount`
 * (little-endian). For an event, `name` is `task.<event>` and `body` is the weft codec's msgpack body of
 * the argument list (its typed arrays are the attachments, never copied). Control records (hello,
 * welcome, bye, finish) have an empty name and a small msgpack body.
 *
 * Batching is what makes a burst cheap: when events are emitted faster than ZeroMQ takes them, the ones
 * waiting are sent together as one message, so the per-message cost of ZeroMQ and of the receiver's read
 * loop is paid once per batch instead of once per event. A single event still goes out at once.
 * @module
 */
import { DecodeError } from "../core/errors.ts";

/** Kinds of records. */
export const RecordKind = {
  EVENT: 1,
  HELLO: 2,
  WELCOME: 3,
  BYE: 4,
  FINISH: 5,
} as const;
/** One of {@link RecordKind}. */
export type RecordKindValue = (typeof RecordKind)[keyof typeof RecordKind];

/** A record ready to be sent: shared by every link it goes to. */
export interface OutRecord {
  kind: RecordKindValue;
  /** UTF-8 name (empty for control records). */
  name: Uint8Array;
  body: Uint8Array;
  attachments: readonly Uint8Array[];
  /** Bytes of the record in the table (without attachments). */
  tableBytes: number;
  /** Bytes of the attachments. */
  attachmentBytes: number;
}

/** A record as received. `body` and `attachments` are views of the received frames. */
export interface InRecord {
  kind: number;
  name: string;
  body: Uint8Array;
  attachments: Buffer[];
}

const FIXED = 1 + 2 + 4 + 2;
const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();
const names = new Map<string, Uint8Array>();

/**
 * Builds a record. Event names are encoded once and cached (a job uses a handful of names).
 * @example
 * ```ts
 * const r = makeRecord(RecordKind.EVENT, "task.x", body, attachments);
 * ```
 */
export function makeRecord(
  kind: RecordKindValue,
  name: string,
  body: Uint8Array,
  attachments: readonly Uint8Array[] = [],
): OutRecord {
  let nameBytes = name === "" ? EMPTY : names.get(name);
  if (nameBytes === undefined) {
    nameBytes = encoder.encode(name);
    if (nameBytes.byteLength > 0xffff) throw new DecodeError(`event name is longer than 65 535 bytes`);
    if (names.size > 4096) names.clear();
    names.set(name, nameBytes);
  }
  if (attachments.length > 0xffff) throw new DecodeError("an event has more than 65 535 binary attachments");
  let attachmentBytes = 0;
  for (const a of attachments) attachmentBytes += a.byteLength;
  return {
    kind,
    name: nameBytes,
    body,
    attachments,
    tableBytes: FIXED + nameBytes.byteLength + body.byteLength,
    attachmentBytes,
  };
}

/**
 * Encodes `records[from, to)` as the frames of one ZeroMQ message.
 * @example
 * ```ts
 * await push.send(encodeBatch(queue, 0, queue.length));
 * ```
 */
export function encodeBatch(records: readonly OutRecord[], from: number, to: number): Uint8Array[] {
  let size = 0;
  let nAttachments = 0;
  for (let i = from; i < to; i++) {
    const r = records[i] as OutRecord;
    size += r.tableBytes;
    nAttachments += r.attachments.length;
  }
  const table = Buffer.allocUnsafe(size);
  const frames: Uint8Array[] = new Array<Uint8Array>(1 + nAttachments);
  frames[0] = table;
  let o = 0;
  let f = 1;
  for (let i = from; i < to; i++) {
    const r = records[i] as OutRecord;
    table[o] = r.kind;
    table.writeUInt16LE(r.name.byteLength, o + 1);
    table.set(r.name, o + 3);
    o += 3 + r.name.byteLength;
    table.writeUInt32LE(r.body.byteLength, o);
    table.set(r.body, o + 4);
    o += 4 + r.body.byteLength;
    table.writeUInt16LE(r.attachments.length, o);
    o += 2;
    for (const a of r.attachments) frames[f++] = a;
  }
  return frames;
}

/**
 * Decodes the frames of one message into its records. Malformed input raises {@link DecodeError}.
 * @example
 * ```ts
 * for (const r of decodeBatch(await pull.receive())) console.log(r.kind, r.name);
 * ```
 */
export function decodeBatch(frames: readonly Buffer[]): InRecord[] {
  const table = frames[0];
  if (table === undefined || table.byteLength === 0) throw new DecodeError("empty pipeline message");
  const out: InRecord[] = [];
  let o = 0;
  let f = 1;
  const end = table.byteLength;
  while (o < end) {
    if (o + FIXED > end) throw new DecodeError("truncated pipeline record");
    const kind = table[o] as number;
    const nameLength = table.readUInt16LE(o + 1);
    o += 3;
    if (o + nameLength + 6 > end) throw new DecodeError("truncated pipeline record name");
    const name = nameLength === 0 ? "" : table.toString("utf8", o, o + nameLength);
    o += nameLength;
    const bodyLength = table.readUInt32LE(o);
    o += 4;
    if (o + bodyLength + 2 > end) throw new DecodeError("truncated pipeline record body");
    const body = table.subarray(o, o + bodyLength);
    o += bodyLength;
    const n = table.readUInt16LE(o);
    o += 2;
    if (f + n > frames.length) throw new DecodeError("pipeline record refers to missing attachment frames");
    const attachments = n === 0 ? [] : (frames.slice(f, f + n) as Buffer[]);
    f += n;
    out.push({ kind, name, body, attachments });
  }
  if (f !== frames.length) throw new DecodeError("pipeline message has unreferenced frames");
  return out;
}
