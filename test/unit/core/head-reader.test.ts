import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decodeMessage, encodeMessage } from "../../../src/core/codec.ts";
import { DecodeError } from "../../../src/core/errors.ts";
import { readHead } from "../../../src/core/head-reader.ts";
import { Message, SessionMessage, SessionType } from "../../../src/core/message.ts";
import {
  binaries,
  codecPackr,
  moreNumbers,
  numbers,
  others,
  strings,
  typedArrays,
} from "../../helpers/msgpack-samples.ts";

// The reader must give back exactly what msgpackr, configured as the codec configures it, decodes.
const packr = codecPackr;

/** readHead with msgpackr for other payloads, counting how often that fallback ran. */
function read(frame: Buffer): { fields: unknown[] | undefined; fallbacks: number } {
  let fallbacks = 0;
  const fields = readHead(frame, (bytes) => {
    fallbacks++;
    return packr.unpack(bytes);
  });
  return { fields, fallbacks };
}

function attempt<T>(f: () => T): { value?: T; error?: unknown } {
  try {
    return { value: f() };
  } catch (error) {
    return { error };
  }
}

const header = [2, 1, "rollout", "actor.3", "learner", "Qm4tZ0vN3aE.1k", "Qm4tZ0vN3aE.1l", 0, 1, 0];
const frameOf = (fields: unknown[], payload: unknown): Buffer => packr.pack([...fields, payload]);

/** Kinds read by hand: everything else goes to the fallback decoder. */
const simple = [null, true, false, ...numbers.filter((n) => n < 2 ** 32), -(2 ** 31), 0.5, -0.25, 1e300];
const simpleStrings = strings;
const handedOver = [
  undefined,
  2 ** 32, // uint 64 / float encodings msgpackr chooses for large numbers
  2 ** 53,
  NaN,
  "naïve", // from here on: payloads the reader never reads itself

  "😀".repeat(100),
  ...others,
];

void describe("readHead", () => {
  void it("reads every simple payload kind itself, exactly as msgpackr decodes it", () => {
    for (const p of [...simple, ...simpleStrings, ...binaries, ...typedArrays]) {
      const frame = frameOf(header, p);
      const { fields, fallbacks } = read(frame);
      assert.deepEqual(fields, packr.unpack(frame), `payload ${String(p).slice(0, 40)}`);
      assert.equal(fallbacks, 0, `payload ${String(p).slice(0, 40)} should be read by hand`);
    }
  });

  void it("hands every other payload to the fallback decoder, with the same result", () => {
    for (const p of [...handedOver, ...moreNumbers]) {
      const frame = frameOf(header, p);
      const { fields } = read(frame);
      assert.deepEqual(fields, packr.unpack(frame), `payload ${String(p).slice(0, 40)}`);
    }
    // (An ArrayBuffer travels as an inline typed array, code 16, and is read by hand.)
    const neverByHand = handedOver.slice(4).filter((p) => !(p instanceof ArrayBuffer));
    for (const p of neverByHand) assert.equal(read(frameOf(header, p)).fallbacks, 1, String(p));
  });

  void it("reads nil codes, every attachment-count width and long header strings", () => {
    const ids = ["x".repeat(17), "y".repeat(31), "z".repeat(32), "w".repeat(300), ""];
    for (const count of [0, 127, 128, 255, 256, 65535, 65536]) {
      for (const id of ids) {
        const fields = [2, 0, "t", id, "d", id, "m", null, null, count];
        const frame = frameOf(fields, 7);
        assert.deepEqual(read(frame).fields, packr.unpack(frame));
      }
    }
  });

  void it("reads each tag, source and destination right when they repeat, change by one byte or grow long", () => {
    // Consecutive frames whose names have the same length and differ in one byte at each place, then
    // names repeated, then names too long to be kept: every one must decode as msgpackr decodes it.
    const names = ["actor.3", "bctor.3", "actor.4", "actor.4", "actor.3", "a".repeat(64), "a".repeat(65)];
    names.push("a".repeat(65), "b".repeat(65), "a".repeat(64), "", "actor.3");
    for (const [i, name] of names.entries()) {
      const other = names[(i + 3) % names.length] as string;
      const frame = frameOf([2, 0, name, other, name, "s", "m", null, null, 0], i);
      const { fields } = read(frame);
      assert.deepEqual(fields, packr.unpack(frame), `frame ${i}`);
      assert.equal(fields?.[2], name, `tag of frame ${i}`);
      assert.equal(fields?.[3], other, `source of frame ${i}`);
    }
  });

  void it("declines frames outside the usual encoding, which then decode through msgpackr", () => {
    const declined = [
      frameOf([2, 1, "état", "a", "b", "s", "m", 0, 0, 0], 1), // non-ASCII header string
      frameOf([2, 1, "t", "a", "b", "s", "m", "task", "request", 0], 1), // session fields by name
      frameOf([2, 1.5, "t", "a", "b", "s", "m", 0, 0, 0], 1), // flags not a small integer
      frameOf([300, 1, "t", "a", "b", "s", "m", 0, 0, 0], 1), // version not a fixint
      frameOf([2, 1, 7, "a", "b", "s", "m", 0, 0, 0], 1), // tag not a string
      frameOf([2, 1, "t", "a", "b", "s", "m", 0, 0, -1], 1), // negative count
      packr.pack([1, 2, 3]), // not an 11-element array
      Buffer.alloc(0),
    ];
    for (const frame of declined) assert.equal(read(frame).fields, undefined, frame.toString("hex"));
  });

  void it("gives the decoder's answer for every truncation and every single-byte change of a frame", () => {
    const m = new SessionMessage({
      tag: "rollout",
      source: "actor.3",
      destination: "learner",
      payload: new Float32Array([1, 2, 3]),
      sessionType: SessionType.TASK,
    });
    const [frame] = encodeMessage(m) as [Buffer];
    const outcome = (f: Buffer): string => {
      try {
        const back = decodeMessage([f]);
        return `ok ${back.tag} ${back.source} ${back.sessionId} ${String(back.payload)}`;
      } catch (err) {
        assert.ok(err instanceof DecodeError, `only DecodeError may escape, got ${String(err)}`);
        return "error";
      }
    };
    for (let n = 0; n < frame.length; n++)
      assert.equal(outcome(frame.subarray(0, n)), "error", `prefix ${n}`);
    let changed = 0;
    for (let i = 0; i < frame.length; i++) {
      for (const delta of [1, 0x40, 0x80]) {
        const f = Buffer.from(frame);
        f[i] = (f[i]! + delta) & 0xff;
        const mine = attempt(() => read(f).fields);
        if (mine.value === undefined && mine.error === undefined) continue;
        changed++;
        // Wherever the reader answers, msgpackr decodes the same bytes to the same fields (or fails too).
        const theirs = attempt(() => packr.unpack(f));
        if (mine.error === undefined) assert.deepEqual(mine.value, theirs.value, `byte ${i} + ${delta}`);
        else assert.ok(theirs.error !== undefined, `byte ${i} + ${delta}: only the reader failed`);
        outcome(f);
      }
    }
    assert.ok(changed > frame.length, "most changes keep the usual shape and are read by hand");
  });

  void it("is what decodeMessage uses: ids, names and payloads come back for plain and session messages", () => {
    for (const payload of [undefined, 42, "hi", new Uint8Array([1, 2]), Buffer.from("abc"), { a: [1] }]) {
      const plain = new Message({ tag: "t", source: "a", destination: "b", payload });
      const session = new SessionMessage({ ...plain, sessionType: SessionType.NOTIFICATION });
      for (const m of [plain, session]) {
        const back = decodeMessage(encodeMessage(m) as Buffer[]);
        assert.deepEqual(back, m);
        assert.equal(back.constructor, m.constructor);
      }
    }
  });
});
