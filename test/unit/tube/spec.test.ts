// Spec validation: each TubeSpecError case, with its message checked.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { TubeSpecError } from "../../../src/core/errors.ts";
import { Epoch, EventStore, loadSpec, makeEvent, Tube } from "../../../src/tube/index.ts";
import { FIXTURES } from "../../helpers/tube-runners.ts";

const N = "./nodes.ts#";

function rejects(spec: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => loadSpec(spec),
    (e: unknown) => e instanceof TubeSpecError && pattern.test(e.message),
  );
}

void describe("tube spec validation", () => {
  void it("unknown dependency names the node and the missing node", () =>
    rejects(
      { nodes: { b: { type: `${N}x`, depends: "c.value" } } },
      /<inline>: node "b": unknown dependency "c.value"/,
    ));
  void it("unknown signal of a node with declared signals", () =>
    rejects(
      { nodes: { a: { type: `${N}x`, signals: ["p"] }, b: { type: `${N}x`, depends: "a.q" } } },
      /node "b": unknown dependency "a.q"; node "a" has signals p/,
    ));
  void it("unknown input", () =>
    rejects({ nodes: { b: { type: `${N}x`, depends: "input.nope" } } }, /node "b": unknown input "nope"/));
  void it("unknown asset", () =>
    rejects({ nodes: { b: { type: `${N}x`, depends: "assets.db" } } }, /node "b": unknown asset "db"/));
  void it("cycle with its path", () =>
    rejects(
      {
        nodes: {
          a: { type: `${N}x`, depends: "c.value" },
          b: { type: `${N}x`, depends: "a.value" },
          c: { type: `${N}x`, depends: "b.value" },
        },
      },
      /dependency cycle (a → b → c → a|b → c → a → b|c → a → b → c)/,
    ));
  void it("duplicate slot", () =>
    rejects(
      {
        nodes: { a: { type: `${N}x` }, b: { type: `${N}x`, depends: [{ x: "a.value" }, { x: "a.value" }] } },
      },
      /node "b": duplicate slot "x"/,
    ));
  for (const id of ["assets", "input", "meta", "tube"]) {
    void it(`reserved id ${id}`, () =>
      rejects({ nodes: { [id]: { type: `${N}x` } } }, new RegExp(`node "${id}": reserved id`)));
  }
  void it("bad identifier", () =>
    rejects({ nodes: { "1a": { type: `${N}x` } } }, /node "1a": bad identifier/));
  void it("more than one return", () =>
    rejects(
      {
        nodes: {
          a: { type: `${N}x` },
          r1: { type: "return", depends: "a.value" },
          r2: { type: "return", depends: "a.value" },
        },
      },
      /more than one return node \(r1, r2\)/,
    ));
  void it("cross-map join", () =>
    rejects(
      {
        input: { w: { scope: "process" } },
        nodes: {
          m1: { type: "map", depends: "input.w" },
          m2: { type: "map", depends: "input.w" },
          j: { type: `${N}x`, depends: ["m1.value", "m2.value"] },
        },
      },
      /node "j": cross-map join/,
    ));
  void it("schema error names the field", () =>
    rejects({ nodes: { a: { type: "map", depend: "b" } } }, /<inline>: nodes\.a: .*depend/));
  void it("node without a type", () =>
    rejects({ nodes: { a: { depends: "b" } } }, /<inline>: node "a": no type/));
  void it("module that cannot be found", async () => {
    await assert.rejects(
      Tube.fromSpecification({ nodes: { a: { type: "./missing.ts#f" } } }, { baseDir: FIXTURES }),
      (e: unknown) =>
        e instanceof TubeSpecError && /node "a": module "\.\/missing\.ts" cannot be found/.test(e.message),
    );
  });
  void it("export that cannot be found", async () => {
    await assert.rejects(
      Tube.fromSpecification({ nodes: { a: { type: `${N}nope` } } }, { baseDir: FIXTURES }),
      (e: unknown) =>
        e instanceof TubeSpecError && /node "a": module "\.\/nodes\.ts" has no export "nope"/.test(e.message),
    );
  });
  void it("a file error names the file; bad YAML too", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-tube-"));
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "nodes: [unclosed");
    assert.throws(
      () => loadSpec(bad),
      (e: unknown) => e instanceof TubeSpecError && e.message.startsWith(`${bad}: not valid YAML`),
    );
    assert.throws(
      () => loadSpec(join(dir, "none.yaml")),
      (e: unknown) => e instanceof TubeSpecError && /cannot read/.test(e.message),
    );
  });
  void it("depends forms, extends and generations", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-tube-"));
    writeFileSync(
      join(dir, "base.yaml"),
      "noob_id: base\nnodes:\n  a: { type: ./n.ts#a }\n  b: { type: ./n.ts#b, depends: [a.value, { k: a.value }] }\n  r: { type: return, depends: b.value }\n",
    );
    writeFileSync(
      join(dir, "child.yaml"),
      "extends: [./base.yaml]\nnodes:\n  b: { depends: { k: a.value } }\n  c: { type: ./n.ts#c, depends: b }\n  out: { type: return, depends: c.value }\n",
    );
    const spec = loadSpec(join(dir, "child.yaml"));
    assert.equal(spec.id, "base");
    assert.deepEqual(Object.keys(spec.nodes), ["a", "b", "c", "out"], "one return survives");
    assert.equal(spec.nodes.b!.type, "./n.ts#b");
    assert.equal(spec.nodes.b!.dependsForm, "named");
    assert.deepEqual(spec.nodes.b!.depends, [
      { slot: "k", source: { kind: "node", id: "a", signal: "value" } },
    ]);
    assert.deepEqual(spec.graph.generations, [["a"], ["b"], ["c"], ["out"]]);
  });
});

void describe("epochs and event store", () => {
  void it("orders epochs and round-trips the wire form", () => {
    const a = new Epoch(1).child("m", 2);
    assert.equal(a.key, "1/m:2");
    assert.equal(a.parent?.key, "1");
    assert.ok(new Epoch(1).compare(a) < 0);
    assert.ok(new Epoch(1).child("m", 1).compare(a) < 0);
    assert.ok(new Epoch(1).contains(a));
    assert.equal(Epoch.fromWire(a.toWire()).key, a.key);
  });
  void it("sub-epochs fall back to parents; clear drops sub-epochs", () => {
    const store = new EventStore();
    const root = new Epoch(0);
    store.add(makeEvent("a", "value", root, 1));
    store.add(makeEvent("b", "value", root.child("m", 0), 2));
    assert.equal(store.get(root.child("m", 0), "a", "value")?.value, 1);
    assert.equal(store.get(root, "b", "value"), undefined);
    store.clear(root);
    assert.equal(store.size, 0);
  });
});
