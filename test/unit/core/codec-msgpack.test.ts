import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decodeHeader, decodeMessage, encodeMessage, packValue } from "../../../src/core/codec.ts";
import { DecodeError } from "../../../src/core/errors.ts";
import { Message, SessionMessage, SessionType } from "../../../src/core/message.ts";

/** An msgpack ext value as a foreign reader sees it. */
class Ext {
  constructor(
    readonly type: number,
    readonly data: Uint8Array,
  ) {}
}

/**
 * A minimal msgpack reader written from the specification, independent of msgpackr: what a client in
 * another language sees. Maps become arrays of [key, value] pairs; 64-bit ints become bigint.
 */
function readMsgpack(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const take = (n: number): Uint8Array => {
    if (pos + n > bytes.length) throw new Error(`truncated at ${pos}`);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = (): number => take(1)[0] as number;
  const u16 = (): number => (take(2), view.getUint16(pos - 2));
  const u32 = (): number => (take(4), view.getUint32(pos - 4));
  const str = (n: number): string => new TextDecoder("utf-8", { fatal: true }).decode(take(n));
  const arr = (n: number): unknown[] => Array.from({ length: n }, () => read());
  const map = (n: number): [unknown, unknown][] => Array.from({ length: n }, () => [read(), read()]);
  const ext = (n: number): Ext => {
    const type = view.getInt8(pos);
    pos += 1;
    return new Ext(type, take(n));
  };
  function read(): unknown {
    const b = u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return take(u8());
      case 0xc5:
        return take(u16());
      case 0xc6:
        return take(u32());
      case 0xc7:
        return ext(u8());
      case 0xc8:
        return ext(u16());
      case 0xc9:
        return ext(u32());
      case 0xca:
        return (take(4), view.getFloat32(pos - 4));
      case 0xcb:
        return (take(8), view.getFloat64(pos - 8));
      case 0xcc:
        return u8();
      case 0xcd:
        return u16();
      case 0xce:
        return u32();
      case 0xcf:
        return (take(8), view.getBigUint64(pos - 8));
      case 0xd0:
        return (take(1), view.getInt8(pos - 1));
      case 0xd1:
        return (take(2), view.getInt16(pos - 2));
      case 0xd2:
        return (take(4), view.getInt32(pos - 4));
      case 0xd3:
        return (take(8), view.getBigInt64(pos - 8));
      case 0xd4:
        return ext(1);
      case 0xd5:
        return ext(2);
      case 0xd6:
        return ext(4);
      case 0xd7:
        return ext(8);
      case 0xd8:
        return ext(16);
      case 0xd9:
        return str(u8());
      case 0xda:
        return str(u16());
      case 0xdb:
        return str(u32());
      case 0xdc:
        return arr(u16());
      case 0xdd:
        return arr(u32());
      case 0xde:
        return map(u16());
      case 0xdf:
        return map(u32());
      default:
        throw new Error(`byte 0x${b.toString(16)} is not msgpack`);
    }
  }
  const value = read();
  assert.equal(pos, bytes.length, "exactly one value, no trailing bytes");
  return value;
}

/** Decodes the msgpack timestamp extension (type −1) as the spec defines it, to milliseconds. */
function timestampMs(e: Ext): number {
  const v = new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  if (e.data.length === 4) return v.getUint32(0) * 1000;
  if (e.data.length === 8) {
    const all = v.getBigUint64(0);
    return Number(all & 0x3ffffffffn) * 1000 + Number(all >> 34n) / 1e6;
  }
  return Number(v.getBigInt64(4)) * 1000 + v.getUint32(0) / 1e6;
}

/** A minimal msgpack writer for the shapes a foreign client sends. */
function w(value: unknown): number[] {
  if (value === null) return [0xc0];
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 0 && value < 128) return [value];
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(value, 1);
    return [...b];
  }
  if (typeof value === "string") {
    const s = Buffer.from(value, "utf8");
    return [0xd9, s.length, ...s];
  }
  if (value instanceof Ext) return [0xc7, value.data.length, value.type & 0xff, ...value.data];
  if (value instanceof Uint8Array) return [0xc5, value.length >> 8, value.length & 0xff, ...value];
  if (Array.isArray(value)) return [0xdc, 0, value.length, ...value.flatMap(w)];
  const entries = Object.entries(value as object);
  return [0x80 | entries.length, ...entries.flatMap(([k, v]) => [...w(k), ...w(v)])];
}

void describe("codec output is plain msgpack", () => {
  void it("writes one array of 10 header fields and the payload that any msgpack reader can read", () => {
    const m = new SessionMessage({
      tag: "sum",
      source: "master",
      destination: "w.0",
      sessionType: SessionType.TASK,
      payload: new Float32Array(512),
    });
    const frames = encodeMessage(m);
    assert.equal(frames.length, 2, "first frame and one attachment");
    const first = readMsgpack(frames[0] as Uint8Array) as unknown[];
    assert.deepEqual(first.slice(0, 10), [
      2,
      1,
      "sum",
      "master",
      "w.0",
      m.sessionId,
      m.messageId,
      0, // task
      0, // task_request
      1,
    ]);
    const ref = first[10] as Ext;
    assert.equal(ref.type, 0x30);
    assert.deepEqual(readMsgpack(ref.data), [0, "float32", 512]);
    assert.equal((frames[1] as Uint8Array).byteLength, 2048);
    const plain = encodeMessage(new Message({ tag: "t", source: "a", destination: "b" }));
    assert.equal(plain.length, 1, "a message without attachments is one frame");
    const h = readMsgpack(plain[0] as Uint8Array) as unknown[];
    assert.deepEqual([h.length, h[1], h[7], h[8], h[9]], [11, 0, null, null, 0]);
    assert.ok(h[10] instanceof Ext, "undefined payload is ext 0");
  });

  void it("writes every body type as the documented msgpack", () => {
    const when = new Date(1_700_000_000_123);
    const { body, attachments } = packValue({
      n: 3,
      f: 1.5,
      s: "héllo",
      nil: null,
      u: undefined,
      big: 5n,
      huge: 2n ** 64n,
      d: when,
      m: new Map<unknown, unknown>([[1, "a"]]),
      b: Buffer.from([1, 2]),
      small: new Int16Array([1, -2]),
      w: new Float64Array(200),
      list: [true, false],
    });
    assert.equal(attachments.length, 1);
    const fields = new Map(readMsgpack(body) as [string, unknown][]);
    assert.equal(fields.get("n"), 3);
    assert.equal(fields.get("f"), 1.5);
    assert.equal(fields.get("s"), "héllo");
    assert.equal(fields.get("nil"), null);
    const u = fields.get("u") as Ext;
    assert.deepEqual([u.type, ...u.data], [0, 0]);
    assert.equal(fields.get("big"), 5n);
    assert.equal((fields.get("huge") as Ext).type, 0x42);
    const d = fields.get("d") as Ext;
    assert.equal(d.type, -1);
    assert.equal(timestampMs(d), when.getTime());
    const m = fields.get("m") as Ext;
    assert.equal(m.type, 0x31);
    assert.deepEqual(readMsgpack(m.data), [1, "a"]);
    assert.deepEqual([...(fields.get("b") as Uint8Array)], [1, 2]);
    const small = fields.get("small") as Ext;
    assert.deepEqual([small.type, ...small.data], [0x74, 3, 1, 0, 0xfe, 0xff]);
    const ref = fields.get("w") as Ext;
    assert.equal(ref.type, 0x30);
    assert.deepEqual(readMsgpack(ref.data), [0, "float64", 200]);
    assert.deepEqual(fields.get("list"), [true, false]);
  });

  void it("decodes a message written by hand as a foreign client would", () => {
    const floats = new Float32Array([1.5, -2, 3.25, 0]);
    const first = w([
      2,
      0,
      "sum",
      "py",
      "w.0",
      "session-1",
      "message-1",
      null,
      null,
      1,
      { n: 3, raw: Uint8Array.of(9, 8), w: new Ext(0x30, Uint8Array.from(w([0, "float32", 4]))) },
    ]);
    const m = decodeMessage([Uint8Array.from(first), new Uint8Array(floats.buffer.slice(0))]);
    assert.deepEqual(
      [m.tag, m.source, m.destination, m.sessionId, m.messageId],
      ["sum", "py", "w.0", "session-1", "message-1"],
    );
    const p = m.payload as { n: number; raw: Uint8Array; w: Float32Array };
    assert.equal(p.n, 3);
    assert.deepEqual([...p.raw], [9, 8]);
    assert.ok(p.w instanceof Float32Array);
    assert.deepEqual([...p.w], [1.5, -2, 3.25, 0]);
    const header = decodeHeader(Uint8Array.from(first));
    assert.deepEqual([header.version, header.tag, header.attachmentCount], [2, "sum", 1]);
  });

  void it("reads session type and stage as codes or as names, and rejects unknown ones", () => {
    const frame = (type: unknown, stage: unknown): Uint8Array =>
      Uint8Array.from(w([2, 1, "t", "a", "b", "s", "m", type, stage, 0, null]));
    const byCode = decodeMessage([frame(1, 1)]) as SessionMessage;
    assert.deepEqual([byCode.sessionType, byCode.sessionStage], ["notification", "notification_receive"]);
    const byName = decodeMessage([frame("task", "task_complete")]) as SessionMessage;
    assert.deepEqual([byName.sessionType, byName.sessionStage], ["task", "task_complete"]);
    assert.throws(
      () => decodeMessage([frame(7, 0)]),
      (e: unknown) => e instanceof DecodeError && /session type 7; expected 0/.test(e.message),
    );
    assert.throws(
      () => decodeMessage([frame(1, 2)]),
      (e: unknown) =>
        e instanceof DecodeError && /stage 2, which is not a stage of a notification session/.test(e.message),
    );
    assert.throws(
      () => decodeMessage([frame(0, "notification_request")]),
      (e: unknown) => e instanceof DecodeError && /not a stage of a task session/.test(e.message),
    );
    assert.throws(
      () => decodeMessage([frame(0, {})]),
      (e: unknown) => e instanceof DecodeError && /stage a value of type object/.test(e.message),
    );
    assert.throws(
      () => decodeMessage([frame(0, 1.5)]),
      (e: unknown) => e instanceof DecodeError && /stage 1.5, which/.test(e.message),
    );
  });

  void it("still decodes a version 1 message (header frame, body frame, attachments)", () => {
    const floats = new Float32Array([1.5, -2, 3.25, 0]);
    const header = w([1, 1, "sum", "py", "w.0", "session-1", "message-1", "task", "task_complete", 1]);
    const body = w({ n: 3, w: new Ext(0x30, Uint8Array.from(w([0, "float32", 4]))) });
    const frames = [Uint8Array.from(header), Uint8Array.from(body), new Uint8Array(floats.buffer.slice(0))];
    const m = decodeMessage(frames);
    assert.ok(m instanceof SessionMessage);
    assert.deepEqual([m.tag, m.sessionStage, m.messageId], ["sum", "task_complete", "message-1"]);
    assert.deepEqual([...(m.payload as { w: Float32Array }).w], [1.5, -2, 3.25, 0]);
    assert.equal(decodeHeader(frames[0]).version, 1);
    // A version 1 header with 11 fields, or a version 2 array with 10, is a clear DecodeError.
    const mixed = w([1, 0, "t", "a", "b", "s", "m", null, null, 0, 5]);
    assert.throws(
      () => decodeMessage([Uint8Array.from(mixed)]),
      (e: unknown) => e instanceof DecodeError && /wire version 1 is not supported here/.test(e.message),
    );
    const short = w([2, 0, "t", "a", "b", "s", "m", null, null, 0]);
    assert.throws(
      () => decodeMessage([Uint8Array.from(short), Uint8Array.from(w(5))]),
      (e: unknown) => e instanceof DecodeError && /wire version 2/.test(e.message),
    );
  });
});
