import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import {
  decodeHeader,
  decodeMessage,
  encodeMessage,
  packValue,
  unpackValue,
} from "../../../src/core/codec.ts";
import { DecodeError } from "../../../src/core/errors.ts";
import { Message } from "../../../src/core/message.ts";
import { codecPackr } from "../../helpers/msgpack-samples.ts";

/** The msgpack ext 0x31 (Map) around `inner` (its data: a msgpack `[k1, v1, …]` list). */
function mapExt(inner: Uint8Array): Buffer {
  const n = inner.length;
  const head =
    n < 256
      ? [0xc7, n]
      : n < 65536
        ? [0xc8, n >> 8, n & 0xff]
        : [0xc9, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from([...head, 0x31]), inner]);
}

void describe("Maps in a body", () => {
  void it("keep Buffers Buffers: after a Map, inside nested Maps, as keys, and with attachments", () => {
    const value = {
      first: new Map<unknown, unknown>([
        ["inner", new Map([[Buffer.from("key"), Buffer.from("value")]])],
        ["after", Buffer.from("b")],
      ]),
      list: [new Map([[1, "a"]]), Buffer.from([1, 2]), new Map([[2, new Float32Array(2048)]])],
      tail: Buffer.from("tail"),
    };
    const { body, attachments } = packValue(value);
    assert.equal(attachments.length, 1, "the large array inside a Map is an attachment");
    const back = unpackValue(body, attachments) as typeof value;
    const inner = back.first.get("inner") as Map<Buffer, Buffer>;
    const [key, val] = [...inner][0] ?? [];
    assert.ok(Buffer.isBuffer(key) && Buffer.isBuffer(val));
    assert.equal(`${key!.toString()}=${val!.toString()}`, "key=value");
    assert.ok(Buffer.isBuffer(back.first.get("after")));
    assert.ok(Buffer.isBuffer(back.list[1]));
    assert.ok(Buffer.isBuffer(back.tail), "a Buffer after every Map of the body");
    assert.equal(back.tail.toString(), "tail");
    assert.equal(((back.list[2] as Map<number, Float32Array>).get(2) as Float32Array).length, 2048);
    assert.deepEqual(back.list[0], new Map([[1, "a"]]));
  });

  void it("decode as Maps for any other msgpackr caller too", () => {
    const { body } = packValue({ m: new Map([["k", 1]]) });
    assert.deepEqual(codecPackr.unpack(body), { m: new Map([["k", 1]]) });
  });

  void it("refuse Maps nested deeper than 256 levels with DecodeError, and decode 200 levels", () => {
    const nested = (levels: number): Buffer => {
      let inner = Buffer.from([0x92, 0x01, 0xc0]); // [1, nil]
      for (let i = 0; i < levels; i++) inner = Buffer.concat([Buffer.from([0x92, 0x01]), mapExt(inner)]);
      return mapExt(inner);
    };
    let m = unpackValue(nested(200)) as Map<number, unknown>;
    let levels = 0;
    while (m.get(1) instanceof Map) {
      m = m.get(1) as Map<number, unknown>;
      levels++;
    }
    assert.equal(levels, 200);
    assert.throws(() => unpackValue(nested(300)), DecodeError);
    assert.throws(() => unpackValue(mapExt(Buffer.from([0x93, 1, 2, 3]))), DecodeError, "odd key/value list");
    let direct = mapExt(Buffer.from([0x90]));
    for (let i = 0; i < 600; i++) direct = mapExt(direct); // a Map extension whose data is one, 600 times
    assert.throws(() => unpackValue(direct), DecodeError);
    // The decoder is not left in a bad state: the next body decodes.
    assert.deepEqual(
      unpackValue(packValue(new Map([["x", Buffer.from("y")]])).body),
      new Map([["x", Buffer.from("y")]]),
    );
  });

  void it("inside a message: the header alone reads past Maps holding attachments; the whole message keeps them", () => {
    const payload = new Map<string, unknown>([
      ["w", new Float64Array(512)],
      ["tag", Buffer.from("t")],
    ]);
    const frames = encodeMessage(new Message({ tag: "m", source: "a", destination: "b", payload }));
    assert.equal(frames.length, 2, "the 4 KiB array inside the Map travels as its own frame");
    assert.equal(decodeHeader(frames[0]).attachmentCount, 1);
    const back = decodeMessage(frames.map((f) => Buffer.from(f))).payload as Map<string, unknown>;
    assert.equal((back.get("w") as Float64Array).length, 512);
    assert.ok(Buffer.isBuffer(back.get("tag")));
  });
});
