import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { decodeMessage, encodeMessage, packSmall } from "../../../src/core/codec.ts";
import { DecodeError } from "../../../src/core/errors.ts";
import { Message, SessionMessage, SessionType } from "../../../src/core/message.ts";
import { Rng, arbitraryValue, deepDifference } from "../../helpers/arbitrary-value.ts";

const ITERATIONS = 100_000;

/** msgpack ext with type `type` and raw `data` (ext8). */
function ext(type: number, data: Uint8Array): Uint8Array {
  return Uint8Array.from([0xc7, data.length, type, ...data]);
}

const VALID_HEADER = [1, 0, "t", "a", "b", "s", "m", null, null, 1];
const VALID_HEADER_V2 = [2, 0, "t", "a", "b", "s", "m", null, null, 1];

/** A version 2 first frame: the header fields of `fields` followed by the raw msgpack `payload`. */
function firstFrame(fields: unknown[], payload: Uint8Array): Uint8Array {
  const head = packSmall(fields);
  // fields has 10 elements (fixarray 0x9a): one more element makes it 0x9b.
  return Uint8Array.from([0x9b, ...head.subarray(1), ...payload]);
}

void describe("codec fuzz", () => {
  void it(`raises only DecodeError on ${ITERATIONS} random and mutated frame sets`, () => {
    const rng = new Rng(Number(process.env.WEFT_SEED ?? 7));
    const corpus: { frames: Uint8Array[]; message: Message }[] = [];
    for (let i = 0; i < 40; i++) {
      const payload = arbitraryValue(rng, { maxDepth: 3 });
      const message =
        i % 3 === 0
          ? new SessionMessage({
              tag: "s",
              source: "a",
              destination: "b",
              payload,
              sessionType: SessionType.NOTIFICATION,
            })
          : new Message({ tag: `t${i}`, source: "a", destination: "b", payload });
      corpus.push({ frames: encodeMessage(message), message });
    }
    const mutations: Record<string, (f: Uint8Array[]) => unknown> = {
      truncate: (f) => {
        const i = rng.int(f.length);
        f[i] = (f[i] as Uint8Array).subarray(0, rng.int((f[i] as Uint8Array).length));
        return f;
      },
      flip: (f) => {
        const i = rng.int(f.length);
        const copy = Uint8Array.from(f[i] as Uint8Array);
        for (let k = 0; k <= rng.int(4); k++) if (copy.length > 0) copy[rng.int(copy.length)] = rng.int(256);
        f[i] = copy;
        return f;
      },
      drop: (f) => (f.splice(rng.int(f.length), 1), f),
      duplicate: (f) => (f.splice(rng.int(f.length), 0, f[rng.int(f.length)] as Uint8Array), f),
      swap: (f) => {
        const i = rng.int(f.length);
        const j = rng.int(f.length);
        [f[i], f[j]] = [f[j] as Uint8Array, f[i] as Uint8Array];
        return f;
      },
      header: (f) => {
        const h = [...VALID_HEADER] as unknown[];
        h[rng.int(h.length + 1)] = rng.pick([
          2,
          0,
          -1,
          "1",
          1.5,
          null,
          true,
          [],
          {},
          2n ** 70n,
          "task",
          "x".repeat(3),
        ]);
        if (rng.int(4) === 0) h.length = rng.int(12);
        if (rng.int(4) === 0) h[1] = 1; // session flag with or without session fields
        f[0] = packSmall(h);
        return f;
      },
      badRef: () => {
        const ref = rng.pick<unknown>([
          [5, "float32", 1],
          [-1, "uint8", 1],
          [0.5, "uint8", 1],
          [0, "constructor", 1],
          [0, "__proto__", 1],
          [0, "float64", 3],
          [0, "buffer", 99],
          [0, 1, 1],
          "x",
          [0],
          null,
        ]);
        const body =
          rng.int(2) === 0 ? ext(0x30, packSmall(ref)) : packSmall([ext(0x30, packSmall([0, "uint8", 4]))]);
        return [
          packSmall(VALID_HEADER),
          rng.int(3) === 0
            ? Uint8Array.from([
                0x92,
                ...ext(0x30, packSmall([0, "uint8", 4])),
                ...ext(0x30, packSmall([0, "uint8", 4])),
              ])
            : body,
          new Uint8Array(4),
        ];
      },
      header2: (f) => {
        const h = [...VALID_HEADER_V2] as unknown[];
        h[rng.int(h.length + 1)] = rng.pick([1, 3, -1, "2", 2.5, null, false, [], {}, 2n ** 70n, "task"]);
        if (rng.int(4) === 0) h[1] = 1;
        if (rng.int(3) === 0) h[9] = f.length - 1;
        h.push(arbitraryValue(rng, { maxDepth: 2 }));
        if (rng.int(5) === 0) h.length = rng.int(14);
        f[0] = packSmall(h);
        return f;
      },
      badRef2: () => {
        const ref = rng.pick<unknown>([
          [1, "float32", 1],
          [-1, "uint8", 1],
          [0, "toString", 1],
          [0, "float64", 3],
          [0, "buffer", 99],
          [0, "uint8", 4],
          null,
        ]);
        const refBytes = ext(0x30, packSmall(ref));
        const payload = rng.int(2) === 0 ? refBytes : Uint8Array.from([0x92, ...refBytes, ...refBytes]);
        const frames = [firstFrame(VALID_HEADER_V2, payload), new Uint8Array(4)];
        if (rng.int(3) === 0) frames.push(new Uint8Array(4));
        return frames;
      },
      exts: (f) => {
        const type = rng.pick([
          0x30, 0x31, 0x42, 0x65, 0x69, 0x70, 0x72, 0x73, 0x74, 0x78, 0x62, 0xff, 0x00, 0x10,
        ]);
        f[1] = ext(type, rng.bytes(rng.int(20)));
        return f;
      },
      randomBytes: () => Array.from({ length: rng.int(6) }, () => rng.bytes(rng.int(64))),
      notBytes: (f) => {
        const junk = rng.pick<unknown>([
          "frame",
          42,
          null,
          undefined,
          new ArrayBuffer(8),
          new DataView(new ArrayBuffer(8)),
          [1],
          {},
          new Uint16Array(4),
        ]);
        if (rng.int(4) === 0) return junk;
        (f as unknown[])[rng.int(f.length)] = junk;
        return f;
      },
      deepNesting: () => [packSmall(VALID_HEADER).subarray(0, 0), new Uint8Array(3000).fill(0x91)],
      nested: () => [packSmall(VALID_HEADER), new Uint8Array(200).fill(0x91), new Uint8Array(1)],
      nested2: () => [firstFrame(VALID_HEADER_V2, new Uint8Array(200).fill(0x91)), new Uint8Array(1)],
      randomMsgpack: () => [
        packSmall(arbitraryValue(rng, { maxDepth: 2 })),
        packSmall(arbitraryValue(rng, { maxDepth: 2 })),
      ],
    };
    const names = Object.keys(mutations);
    const rejected = new Map<string, number>(names.map((n) => [n, 0]));
    const fuzz = (): void => {
      for (let i = 0; i < ITERATIONS; i++) {
        const base = rng.pick(corpus);
        const name = rng.pick(names);
        const input = (mutations[name] as (f: Uint8Array[]) => unknown)([...base.frames]);
        try {
          decodeMessage(input as Uint8Array[]);
        } catch (err) {
          if (!(err instanceof DecodeError)) {
            assert.fail(`iteration ${i} (${name}) threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
          }
          rejected.set(name, (rejected.get(name) ?? 0) + 1);
        }
        if (i % 5000 === 0) {
          // The decoder is not left in a bad state by what came before.
          const back = decodeMessage(base.frames);
          assert.equal(deepDifference(back.payload, base.message.payload), undefined);
        }
      }
    };
    // Stack traces are most of the cost of 100 000 rejected inputs, and are not what is checked here.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      fuzz();
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    // Nesting deep enough to overflow the stack, once (it is slow to unwind): still a DecodeError.
    assert.throws(
      () => decodeMessage([packSmall(VALID_HEADER), new Uint8Array(200_000).fill(0x91), new Uint8Array(1)]),
      DecodeError,
    );
    assert.throws(
      () =>
        decodeMessage([firstFrame(VALID_HEADER_V2, new Uint8Array(200_000).fill(0x91)), new Uint8Array(1)]),
      DecodeError,
    );
    for (const [name, n] of rejected) assert.ok(n > 0, `mutation ${name} never produced a DecodeError`);
  });
});
