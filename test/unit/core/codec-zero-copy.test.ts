import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  DEFAULT_MAX_FRAMES,
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeMessage,
  encodeMessage,
  packValue,
} from "../../../src/core/codec.ts";
import { DecodeError, EncodeError } from "../../../src/core/errors.ts";
import { Message } from "../../../src/core/message.ts";

const MIB16 = 16 * 1024 * 1024;

function msg(payload: unknown): Message {
  return new Message({ tag: "weights", source: "learner", destination: "actor.0", payload });
}

/** A copy of `frame` placed at byte `offset` of a fresh ArrayBuffer. */
function placeAt(frame: Uint8Array, offset: number): Uint8Array {
  const backing = new Uint8Array(frame.byteLength + offset);
  backing.set(frame, offset);
  return backing.subarray(offset);
}

void describe("codec zero copy", () => {
  void it("sends a 16 MiB Float32Array as a frame sharing the input's ArrayBuffer, and decodes a view on it", () => {
    const weights = new Float32Array(MIB16 / 4);
    for (let i = 0; i < weights.length; i += 4099) weights[i] = i / 3;
    const frames = encodeMessage(msg({ weights }));
    assert.equal(frames.length, 2);
    const frame = frames[1] as Uint8Array;
    assert.equal(frame.buffer, weights.buffer, "same ArrayBuffer: not copied");
    assert.equal(frame.byteOffset, weights.byteOffset);
    assert.equal(frame.byteLength, MIB16);
    assert.ok(
      (frames[0] as Uint8Array).byteLength < 200,
      "the first frame holds the header and a reference only",
    );
    const back = (decodeMessage(frames).payload as { weights: Float32Array }).weights;
    assert.ok(back instanceof Float32Array);
    assert.equal(back.buffer, frame.buffer, "decode returns a view on the frame's memory");
    assert.equal(back.length, weights.length);
    assert.equal(back[4099], weights[4099]);
    weights[1] = 42;
    assert.equal(back[1], 42, "the view shares memory");
  });

  void it("keeps a subarray's offset, and every kind's frame shares memory", () => {
    const big = new Float64Array(1000);
    const view = big.subarray(10, 510);
    const frame = packValue(view).attachments[0] as Uint8Array;
    assert.equal(frame.buffer, big.buffer);
    assert.equal(frame.byteOffset, 80);
    assert.equal(frame.byteLength, 4000);
    for (const a of [
      new Int8Array(2048),
      new Uint16Array(2048),
      new BigInt64Array(256),
      Buffer.alloc(4096),
    ]) {
      assert.equal((packValue([a]).attachments[0] as Uint8Array).buffer, a.buffer, a.constructor.name);
    }
  });

  void it("copies a misaligned frame, and the copy is correct", () => {
    const src = new Float64Array(512).map((_, i) => i * 1.25);
    const frames = encodeMessage(msg(src));
    const odd = placeAt(frames[1] as Uint8Array, 4); // aligned for 4-byte elements, not for 8-byte ones
    const back = decodeMessage([frames[0] as Uint8Array, odd]).payload as Float64Array;
    assert.ok(back instanceof Float64Array);
    assert.notEqual(back.buffer, odd.buffer, "copied");
    assert.deepEqual(Array.from(back), Array.from(src));
    const f32 = new Float32Array(512).map((_, i) => i / 7);
    const f = encodeMessage(msg(f32));
    const at4 = placeAt(f[1] as Uint8Array, 4);
    const v = decodeMessage([f[0] as Uint8Array, at4]).payload as Float32Array;
    assert.equal(v.buffer, at4.buffer, "4-byte aligned Float32 frame: still a view");
    const at1 = placeAt(f[1] as Uint8Array, 1);
    const c = decodeMessage([f[0] as Uint8Array, at1]).payload as Float32Array;
    assert.notEqual(c.buffer, at1.buffer);
    assert.deepEqual(Array.from(c), Array.from(f32));
    const buf = Buffer.alloc(2000, 9);
    const b = encodeMessage(msg(buf));
    const b1 = placeAt(b[1] as Uint8Array, 1);
    const bb = decodeMessage([b[0] as Uint8Array, b1]).payload as Buffer;
    assert.ok(Buffer.isBuffer(bb));
    assert.equal(bb.buffer, b1.buffer, "bytes need no alignment");
  });

  void it("decodes a small inline typed array as a view on the frame when aligned, else as a copy", () => {
    const values = new Float64Array([1.5, -2, 3.25]);
    const [frame] = encodeMessage(msg(values));
    const seen = new Set<string>();
    for (let offset = 0; offset < 8; offset++) {
      const placed = placeAt(frame as Uint8Array, offset);
      const got = decodeMessage([placed]).payload as Float64Array;
      assert.ok(got instanceof Float64Array);
      assert.deepEqual([...got], [...values]);
      seen.add(got.buffer === placed.buffer ? "view" : "copy");
      if (got.buffer !== placed.buffer) assert.equal(got.byteOffset, 0);
    }
    assert.deepEqual([...seen].sort(), ["copy", "view"], "both paths taken over eight offsets");
    const bytes = decodeMessage(encodeMessage(msg(new Uint8Array([7, 8])))).payload as Uint8Array;
    assert.deepEqual([...bytes], [7, 8]);
  });

  void it("rejects an inline typed array with an unknown type or a partial element (DecodeError)", () => {
    const [frame] = encodeMessage(msg(new Int16Array([1, 2])));
    const f = Uint8Array.from(frame as Uint8Array);
    // The payload is the last element: ext 8 (c7), length, type 0x74, type code, data.
    const at = f.length - 8;
    assert.deepEqual([f[at], f[at + 2], f[at + 3]], [0xc7, 0x74, 3]);
    const unknown = Uint8Array.from(f);
    unknown[at + 3] = 99;
    assert.throws(
      () => decodeMessage([unknown]),
      (e: unknown) => e instanceof DecodeError && /unknown type code 99/.test(e.message),
    );
    const partial = Uint8Array.from(f.subarray(0, f.length - 1));
    partial[at + 1] = 4; // 1 type byte + 3 data bytes: one and a half Int16 elements
    assert.throws(
      () => decodeMessage([partial]),
      (e: unknown) => e instanceof DecodeError && /not a multiple of 2/.test(e.message),
    );
  });

  void it("uses the attachment threshold: 1023 bytes inline, 1024 bytes as a frame, configurable", () => {
    assert.equal(packValue(new Uint8Array(1023)).attachments.length, 0);
    assert.equal(packValue(new Uint8Array(1024)).attachments.length, 1);
    assert.equal(packValue(new Uint8Array(8), { attachmentThreshold: 8 }).attachments.length, 1);
    assert.equal(packValue(new Uint8Array(4096), { attachmentThreshold: Infinity }).attachments.length, 0);
  });
});

void describe("codec limits", () => {
  void it("has the documented defaults", () => {
    assert.equal(DEFAULT_MAX_MESSAGE_BYTES, 1024 ** 3);
    assert.equal(DEFAULT_MAX_FRAMES, 65_536);
  });

  void it("rejects a message over maxMessageBytes on encode (EncodeError) and decode (DecodeError)", () => {
    const m = msg(new Uint8Array(10_000));
    const frames = encodeMessage(m);
    const total = frames.reduce((n, f) => n + f.byteLength, 0);
    assert.equal(encodeMessage(m, { maxMessageBytes: total }).length, 2, "exactly at the limit is fine");
    assert.throws(
      () => encodeMessage(m, { maxMessageBytes: total - 1 }),
      (e: unknown) =>
        e instanceof EncodeError &&
        e.message.includes("maxMessageBytes") &&
        e.message.includes(String(total)),
    );
    assert.ok(decodeMessage(frames, { maxMessageBytes: total }));
    assert.throws(() => decodeMessage(frames, { maxMessageBytes: total - 1 }), DecodeError);
  });

  void it("rejects too many frames on encode and decode", () => {
    const m = msg([new Uint8Array(2048), new Uint8Array(2048), new Uint8Array(2048)]);
    assert.equal(encodeMessage(m, { maxFrames: 4 }).length, 4);
    assert.throws(() => encodeMessage(m, { maxFrames: 3 }), EncodeError);
    assert.throws(() => decodeMessage(encodeMessage(m), { maxFrames: 3 }), DecodeError);
    const many = Array.from({ length: DEFAULT_MAX_FRAMES + 1 }, () => new Uint8Array(1));
    assert.throws(
      () => decodeMessage(many),
      (e: unknown) => e instanceof DecodeError && /over the limit/.test(e.message),
    );
  });
});

void describe("buffers beside attachments", () => {
  void it("a small Buffer after an attachment reference still decodes as a Buffer", async () => {
    const { packValue, unpackValue } = await import("../../../src/core/codec.ts");
    const { body, attachments } = packValue({ w: new Float32Array(4096), tail: Buffer.from([1, 2, 3]) });
    const out = unpackValue(body, attachments) as { w: Float32Array; tail: Buffer };
    assert.equal(attachments.length, 1);
    assert.ok(Buffer.isBuffer(out.tail));
    assert.deepEqual([...out.tail], [1, 2, 3]);
  });
});
