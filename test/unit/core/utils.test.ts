import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../../src/core/errors.ts";
import { clone, convertDottable, getPath, isDottable, setPath } from "../../../src/core/utils.ts";

void describe("convertDottable", () => {
  void it("gives nested dotted access, writes, and converts objects assigned later", () => {
    const source = { a: { b: 1 }, list: [{ x: 1 }, 2], name: "n" };
    const d = convertDottable(source);
    assert.equal(d.a.b, 1);
    assert.ok(isDottable(d) && isDottable(d.a) && isDottable(d.list[0]));
    assert.ok(!isDottable(source.a));
    d.a.b = 5;
    assert.equal(d.a.b, 5);
    assert.equal(source.a.b, 1, "the input is copied, not changed");
    (d as Record<string, unknown>).c = { e: { f: 2 } };
    assert.ok(isDottable((d as unknown as { c: object }).c));
    assert.equal(getPath(d, "c.e.f"), 2);
    assert.deepEqual(JSON.parse(JSON.stringify(d)), {
      a: { b: 5 },
      list: [{ x: 1 }, 2],
      name: "n",
      c: { e: { f: 2 } },
    });
    assert.deepEqual(Object.keys(d), ["a", "list", "name", "c"]);
    assert.equal(convertDottable(d), d);
  });

  void it("keeps non-plain values by reference and preserves cycles", () => {
    const when = new Date(0);
    const cyclic: Record<string, unknown> = { when };
    cyclic.self = cyclic;
    const d = convertDottable(cyclic) as Record<string, unknown>;
    assert.equal(d.when, when);
    assert.equal(d.self, d);
  });

  void it("rejects non-plain input and prototype-changing keys with ConfigError", () => {
    assert.throws(() => convertDottable(new Date()), ConfigError);
    assert.throws(
      () => convertDottable(JSON.parse('{"__proto__": {"polluted": true}}') as object),
      ConfigError,
    );
    const d = convertDottable({ a: {} }) as Record<string, unknown>;
    assert.throws(() => {
      d["constructor"] = 1;
    }, ConfigError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  void it("getPath/setPath walk dotted paths", () => {
    const d = convertDottable({ learner: { lr: 0.1 } });
    setPath(d, "learner.optimizer.name", "adam");
    assert.equal(getPath(d, "learner.optimizer.name"), "adam");
    assert.ok(isDottable(getPath(d, "learner.optimizer")));
    assert.equal(getPath(d, "learner.missing.deep"), undefined);
    assert.equal(getPath(d, "learner.lr.toFixed"), undefined);
    assert.throws(() => setPath(d, "learner.lr.x", 1), /"lr" holds number/);
    assert.throws(() => getPath(d, "a..b"), ConfigError);
    assert.throws(() => setPath({}, "__proto__.x", 1), ConfigError);
  });
});

void describe("clone", () => {
  void it("deep-copies nested structures, Maps, Sets, Dates, RegExps", () => {
    const src = {
      n: 1,
      s: "x",
      big: 10n,
      u: undefined,
      arr: [1, { k: [2] }],
      map: new Map<unknown, unknown>([[{ key: 1 }, { v: new Date(5) }]]),
      set: new Set([{ a: 1 }]),
      date: new Date(1234),
      re: /ab+/gi,
    };
    const out = clone(src);
    assert.deepEqual(out, src);
    assert.notEqual(out.arr[1], src.arr[1]);
    assert.notEqual([...out.map.keys()][0], [...src.map.keys()][0]);
    assert.notEqual([...out.set][0], [...src.set][0]);
    assert.notEqual(out.date, src.date);
    out.date.setTime(0);
    assert.equal(src.date.getTime(), 1234);
    assert.equal(out.re.flags, "gi");
    assert.ok("u" in out);
  });

  void it("copies every typed array kind, Buffers and DataViews without sharing memory", () => {
    const kinds = [
      new Int8Array([1, -2]),
      new Uint8Array([1, 2]),
      new Uint8ClampedArray([3]),
      new Int16Array([-4]),
      new Uint16Array([5]),
      new Int32Array([-6]),
      new Uint32Array([7]),
      new Float32Array([1.5]),
      new Float64Array([2.25]),
      new BigInt64Array([-8n]),
      new BigUint64Array([9n]),
    ];
    for (const arr of kinds) {
      const copy = clone(arr);
      assert.equal(copy.constructor, arr.constructor);
      assert.deepEqual(copy, arr);
      assert.notEqual(copy.buffer, arr.buffer);
    }
    const buf = Buffer.from("hello");
    const bufCopy = clone(buf);
    assert.ok(Buffer.isBuffer(bufCopy));
    assert.equal(bufCopy.toString(), "hello");
    bufCopy[0] = 0x4a;
    assert.equal(buf.toString(), "hello");

    const backing = new ArrayBuffer(16);
    const partial = new Float32Array(backing, 4, 2);
    partial.set([1, 2]);
    const partialCopy = clone(partial);
    assert.deepEqual([...partialCopy], [1, 2]);
    assert.equal(partialCopy.buffer.byteLength, 8, "a partial view copies only its bytes");

    const dv = new DataView(new ArrayBuffer(4));
    dv.setInt16(0, 300);
    const dvCopy = clone(dv);
    assert.equal(dvCopy.getInt16(0), 300);
    assert.notEqual(dvCopy.buffer, dv.buffer);
  });

  void it("keeps shared references and cycles, including views of one buffer", () => {
    const shared = { v: 1 };
    const floats = new Float32Array(2);
    const src: Record<string, unknown> = {
      a: shared,
      b: shared,
      floats,
      bytes: new Uint8Array(floats.buffer),
    };
    src.self = src;
    const out = clone(src);
    assert.equal(out.self, out);
    assert.equal(out.a, out.b);
    assert.notEqual(out.a, shared);
    const outFloats = out.floats as Float32Array;
    assert.equal(outFloats.buffer, (out.bytes as Uint8Array).buffer);
    outFloats[0] = 1;
    assert.equal(floats[0], 0);
  });

  void it("keeps prototypes of class instances and errors; shares functions", () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const fn = () => 1;
    const err = new RangeError("bad");
    const out = clone({ p: new Point(3, 4), fn, err, frozen: Object.freeze({ a: 1 }) });
    assert.ok(out.p instanceof Point);
    assert.equal(out.p.norm(), 5);
    assert.equal(out.fn, fn);
    assert.ok(out.err instanceof RangeError);
    assert.equal(out.err.message, "bad");
    assert.equal(out.err.stack, err.stack);
    assert.ok(Object.isFrozen(out.frozen));
    assert.equal(clone(null), null);
    assert.equal(clone(7), 7);
  });
});
