import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decodeMessage, encodeMessage, packValue, unpackValue } from "../../../src/core/codec.ts";
import { EncodeError } from "../../../src/core/errors.ts";
import { Message, SessionMessage, SessionType, TaskSessionStage } from "../../../src/core/message.ts";
import { Rng, TYPED_ARRAY_KINDS, arbitraryValue, deepDifference } from "../../helpers/arbitrary-value.ts";

const SEED = Number(process.env.WEFT_SEED ?? 20240601);

function roundTrip(value: unknown): unknown {
  const { body, attachments } = packValue(value);
  return unpackValue(body, attachments);
}

void describe("codec round trip", () => {
  void it("deepDifference tells apart what the codec must keep apart", () => {
    const bytes = [1, 2, 3, 4];
    assert.equal(deepDifference(new Uint8Array(bytes), new Uint8Array(bytes)), undefined);
    assert.ok(deepDifference(new Uint8Array(bytes), Buffer.from(bytes)));
    assert.ok(deepDifference(new Uint8Array(bytes), new Uint8ClampedArray(bytes)));
    assert.ok(deepDifference(new Int8Array(bytes), new Uint8Array(bytes)));
    assert.ok(deepDifference(new Uint8Array([1, 2, 3, 5]), new Uint8Array(bytes)));
    assert.ok(deepDifference(new Float32Array(1), new Int32Array(1)));
    assert.ok(deepDifference(0, -0));
    assert.equal(deepDifference(NaN, NaN), undefined);
    assert.ok(deepDifference(null, undefined));
    assert.ok(deepDifference(1n, 1));
    assert.ok(deepDifference({ a: 1 }, new Map([["a", 1]])));
    assert.ok(deepDifference(new Map([[1, "a"]]), new Map([["1", "a"]])));
    assert.ok(deepDifference({ a: 1, b: 2 }, { b: 2, a: 1 }), "key order matters");
    assert.ok(deepDifference([undefined], []));
    assert.ok(deepDifference(new Date(1), new Date(2)));
    assert.ok(deepDifference({ a: undefined }, {}));
  });

  void it(`round-trips 10 000 random values equal (seed ${SEED}; set WEFT_SEED to replay another)`, () => {
    const rng = new Rng(SEED);
    let attachments = 0;
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const value = arbitraryValue(rng);
      const packed = packValue(value);
      attachments += packed.attachments.length;
      const back = unpackValue(packed.body, packed.attachments);
      const diff = deepDifference(back, value);
      if (diff !== undefined) assert.fail(`value #${i} (seed ${SEED}) did not round-trip: ${diff}`);
      const tag =
        value instanceof Map ? "Map" : ArrayBuffer.isView(value) ? value.constructor.name : typeof value;
      seen.add(tag);
    }
    // The generator really covered the types and the attachment path.
    assert.ok(attachments > 1000, `only ${attachments} attachments were exercised`);
    for (const t of [
      "Map",
      "object",
      "number",
      "string",
      "bigint",
      "boolean",
      "undefined",
      "Buffer",
      "Float64Array",
    ]) {
      assert.ok(seen.has(t), `no top-level ${t} was generated`);
    }
  });

  void it("round-trips 2 000 random payloads inside messages, attachments as frames", () => {
    const rng = new Rng(SEED + 1);
    for (let i = 0; i < 2_000; i++) {
      const payload = arbitraryValue(rng);
      const m =
        i % 2 === 0
          ? new Message({ tag: `t${i}`, source: "a", destination: "b", payload })
          : new SessionMessage({
              tag: "s",
              source: "a",
              destination: "b",
              payload,
              sessionType: SessionType.TASK,
            });
      const frames = encodeMessage(m);
      const back = decodeMessage(frames);
      assert.equal(back.constructor, m.constructor);
      assert.deepEqual(
        [back.tag, back.source, back.destination, back.sessionId, back.messageId],
        [m.tag, m.source, m.destination, m.sessionId, m.messageId],
      );
      const diff = deepDifference(back.payload, payload);
      if (diff !== undefined) assert.fail(`message #${i} payload: ${diff}`);
    }
  });

  void it("keeps session type and stage", () => {
    const m = new SessionMessage({
      tag: "t",
      source: "a",
      destination: "b",
      sessionType: SessionType.TASK,
      sessionStage: TaskSessionStage.RECEIVE,
    });
    const back = decodeMessage(encodeMessage(m)) as SessionMessage;
    assert.ok(back instanceof SessionMessage);
    assert.deepEqual([back.sessionType, back.sessionStage], ["task", "task_receive"]);
    assert.ok(Object.isFrozen(back));
  });

  void it("round-trips every typed array kind and Buffer below and above the threshold", () => {
    for (const Ctor of [...TYPED_ARRAY_KINDS]) {
      for (const bytes of [0, 8, 1016, 1024, 65536]) {
        const a = new Ctor(bytes / Ctor.BYTES_PER_ELEMENT);
        new Uint8Array(a.buffer).forEach((_, i, arr) => (arr[i] = (i * 7 + 3) & 0xff));
        const packed = packValue({ a });
        assert.equal(packed.attachments.length, bytes >= 1024 ? 1 : 0, `${Ctor.name} ${bytes} bytes`);
        assert.equal(deepDifference(unpackValue(packed.body, packed.attachments), { a }), undefined);
      }
    }
    for (const n of [0, 5, 1023, 1024, 5000]) {
      const b = Buffer.alloc(n, 7);
      assert.equal(deepDifference(roundTrip([b]), [b]), undefined);
    }
  });

  void it("keeps bigints as bigints in and out of the 64-bit range", () => {
    const cases = [
      0n,
      1n,
      -1n,
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 63n,
      2n ** 64n - 1n,
      2n ** 64n,
      -(2n ** 63n) - 1n,
    ];
    cases.push(2n ** 1000n + 12345n, -(3n ** 500n));
    for (const v of cases) assert.equal(roundTrip(v), v, String(v));
    // In the int64 range a bigint is an msgpack int64 (0xd3); above it, up to 2^64 - 1, a uint64 (0xcf);
    // beyond, msgpackr's big-integer ext type 0x42 (big-endian two's complement).
    assert.equal(packValue(5n).body[0], 0xd3);
    assert.equal(packValue(2n ** 63n).body[0], 0xcf);
    const huge = packValue(2n ** 64n).body;
    assert.deepEqual([huge[0], huge[1]], [0xd8, 0x42]);
  });

  void it("documents its lossy corners: -0, functions, __proto__ keys, sparse arrays", () => {
    assert.ok(Object.is(roundTrip(-0), 0), "-0 is sent as the integer 0");
    assert.equal(
      roundTrip(() => 1),
      undefined,
      "a function is sent as undefined",
    );
    assert.deepEqual(roundTrip(Object.fromEntries([["__proto__", 1]])), { __proto_: 1 });
    assert.equal(
      Object.getPrototypeOf(roundTrip(JSON.parse('{"__proto__": {"polluted": true}}'))),
      Object.prototype,
    );
    assert.deepEqual(roundTrip(new Array<number>(3).fill(1, 0, 1)), [1, undefined, undefined]);
    assert.equal(deepDifference(roundTrip({ a: undefined, b: null }), { a: undefined, b: null }), undefined);
  });

  void it("refuses what cannot be encoded with EncodeError", () => {
    assert.throws(() => packValue({ s: Symbol("x") }), EncodeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(
      () => packValue(cyclic),
      (e: unknown) => e instanceof EncodeError && /circular/.test(e.message),
    );
    let deep: unknown = 1;
    for (let i = 0; i < 300; i++) deep = [deep];
    assert.throws(() => packValue(deep), EncodeError);
  });
});
