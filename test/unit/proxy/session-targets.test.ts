import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { newId } from "../../../src/core/ids.ts";
import { SessionTargets } from "../../../src/proxy/session-targets.ts";

void describe("SessionTargets", () => {
  void it("remembers this process's sessions until forgotten", () => {
    const t = new SessionTargets();
    const a = newId();
    const b = newId();
    t.remember(a, "worker.0");
    t.remember(b, ["worker.0", "worker.1"]);
    assert.equal(t.get(a), "worker.0");
    assert.deepEqual(t.get(b), ["worker.0", "worker.1"]);
    t.forget(a);
    assert.equal(t.get(a), undefined);
    assert.deepEqual(t.get(b), ["worker.0", "worker.1"], "forgetting one leaves the others");
  });

  void it("keeps at least the last 131 072 own sessions and forgets older ones", () => {
    const t = new SessionTargets();
    const first = newId();
    t.remember(first, "old");
    const ids: string[] = [];
    for (let i = 0; i < 131_072; i++) {
      const id = newId();
      ids.push(id);
      t.remember(id, `w${i}`);
    }
    assert.equal(t.get(first), undefined, "its slot was taken by a newer session");
    assert.equal(t.get(ids[0]!), "w0");
    assert.equal(t.get(ids.at(-1)!), "w131071");
  });

  void it("keeps other processes' sessions by name, at least the last 4096", () => {
    const t = new SessionTargets();
    t.remember("elsewhere.1", "master");
    assert.equal(t.get("elsewhere.1"), "master");
    for (let i = 0; i < 4096; i++) t.remember(`elsewhere.x${i}`, "m");
    assert.equal(t.get("elsewhere.1"), "master", "still in the older generation");
    for (let i = 0; i < 4096; i++) t.remember(`elsewhere.y${i}`, "m");
    assert.equal(t.get("elsewhere.1"), undefined, "dropped with its generation");
    t.forget("elsewhere.y0");
    assert.equal(t.get("elsewhere.y0"), undefined);
    assert.equal(t.get("elsewhere.y1"), "m");
  });

  void it("does not mistake a foreign id that looks like an own one", () => {
    const t = new SessionTargets();
    const own = newId();
    t.remember(own, "worker.0");
    const prefix = own.slice(0, own.indexOf(".") + 1);
    // Same prefix, a counter this process has not reached: not one of ours, so it goes by name.
    const future = `${prefix}zzzzzz`;
    assert.equal(t.get(future), undefined);
    t.remember(future, "x");
    assert.equal(t.get(future), "x");
    assert.equal(t.get(own), "worker.0");
  });

  void it("expects each occurrence of a repeated id from the next of its targets, then from anyone", () => {
    const t = new SessionTargets();
    const broadcast = newId();
    const sent = newId();
    const unknown = newId();
    t.remember(broadcast, ["worker.0", "worker.1"]);
    t.remember(sent, "worker.2");
    assert.deepEqual(t.expectations([broadcast, sent, broadcast, broadcast, unknown]), [
      { sessionId: broadcast, source: "worker.0" },
      { sessionId: sent, source: "worker.2" },
      { sessionId: broadcast, source: "worker.1" },
      { sessionId: broadcast },
      { sessionId: unknown },
    ]);
    assert.deepEqual(t.expectations([broadcast]), [{ sessionId: broadcast, source: "worker.0" }]);
    assert.deepEqual(t.expectations([unknown]), [{ sessionId: unknown }]);
    assert.deepEqual(t.get(broadcast), ["worker.0", "worker.1"], "asking does not use the targets up");
  });
});
