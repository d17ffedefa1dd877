import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../../../src/core/errors.ts";
import { createRegistry } from "../../../src/discovery/create-registry.ts";
import { LocalRegistry } from "../../../src/discovery/local-registry.ts";
import type { MemberInfo, MembershipEvent } from "../../../src/discovery/registry.ts";
import { StaticRegistry } from "../../../src/discovery/static-registry.ts";

function member(group: string, name: string, incarnation = "static"): MemberInfo {
  return {
    group,
    type: "learner",
    name,
    addresses: { unicast: "tcp://127.0.0.1:5555", broadcast: "tcp://127.0.0.1:5556" },
    pid: 0,
    host: "gpu-1",
    meta: {},
    incarnation,
  };
}

void describe("StaticRegistry", () => {
  void it("lists the given members by group and reports joins and leaves to watchers", async () => {
    const reg = new StaticRegistry([member("g", "learner.1"), member("g", "learner.0"), member("h", "x")]);
    assert.deepEqual(
      (await reg.list("g")).map((m) => m.name),
      ["learner.0", "learner.1"],
    );
    const events: string[] = [];
    const stop = reg.watch("g", (e: MembershipEvent) => events.push(`${e.kind} ${e.member.name}`));
    assert.deepEqual(events, ["join learner.1", "join learner.0"]);
    await reg.register(member("g", "learner.2"));
    await reg.unregister("learner.0");
    assert.deepEqual(events.slice(2), ["join learner.2", "leave learner.0"]);
    assert.equal(await reg.isAlive(member("g", "learner.2")), true);
    assert.equal(await reg.isAlive(member("g", "learner.2", "other")), false);
    stop();
    await reg.register(member("g", "learner.3"));
    assert.equal(events.length, 4, "a stopped watch gets nothing");
    await reg.close();
  });
});

void describe("createRegistry", () => {
  void it("builds the registry named by the discovery option", async () => {
    assert.ok((await createRegistry(undefined)) instanceof LocalRegistry);
    assert.ok((await createRegistry("local")) instanceof LocalRegistry);
    assert.ok((await createRegistry({ type: "static", members: [] })) instanceof StaticRegistry);
    await assert.rejects(createRegistry("zookeeper://x"), ConfigError);
    await assert.rejects(createRegistry({ type: "etcd" } as never), ConfigError);
  });
});
