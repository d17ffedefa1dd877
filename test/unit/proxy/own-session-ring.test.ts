import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { OwnSessionRing } from "../../../src/proxy/own-session-ring.ts";

void describe("OwnSessionRing", () => {
  void it("finds a value by its session counter until the slot is taken by a newer session or deleted", () => {
    const ring = new OwnSessionRing<string>(2); // 4 slots
    ring.set(1, "a");
    assert.equal(ring.get(1), "a");
    assert.equal(ring.get(5), undefined, "same slot, other session");
    ring.set(5, "b"); // replaces session 1
    assert.equal(ring.get(1), undefined);
    assert.equal(ring.get(5), "b");
    assert.equal(ring.size, 1);
    assert.equal(ring.delete(1), false, "session 1 is no longer there");
    assert.equal(ring.delete(5), true);
    assert.equal(ring.get(5), undefined);
    assert.equal(ring.size, 0);
  });

  void it("setIfFree refuses a taken slot; delete with a value removes only that value", () => {
    const ring = new OwnSessionRing<object>(2);
    const first = {};
    const other = {};
    assert.equal(ring.setIfFree(2, first), true);
    assert.equal(ring.setIfFree(6, other), false, "slot of session 2 is taken");
    assert.equal(ring.get(6), undefined);
    assert.equal(ring.delete(2, other), false, "another value is not removed");
    assert.equal(ring.get(2), first);
    ring.set(3, other);
    assert.deepEqual([...ring.values()], [first, other]);
    assert.equal(ring.delete(2, first), true);
    assert.deepEqual([...ring.values()], [other]);
    assert.equal(ring.size, 1);
  });
});
