import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync, mkdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../../../src/core/errors.ts";
import { newId } from "../../../src/core/ids.ts";
import { LocalRegistry, pidAlive } from "../../../src/discovery/local-registry.ts";
import type { MemberInfo, MembershipEvent } from "../../../src/discovery/registry.ts";
import { waitFor } from "../../helpers/proxy-util.ts";

const root = mkdtempSync(join(tmpdir(), "weft-reg-"));
after(() => rmSync(root, { recursive: true, force: true }));

function member(group: string, name: string, pid = process.pid): MemberInfo {
  return {
    group,
    type: name.split(".")[0] ?? name,
    name,
    addresses: { unicast: "tcp://127.0.0.1:1" },
    pid,
    host: hostname(),
    meta: {},
    incarnation: newId(),
  };
}

function writeEntry(group: string, m: MemberInfo, ageMs = 0): void {
  mkdirSync(join(root, group), { recursive: true });
  const file = join(root, group, `${m.name}.json`);
  writeFileSync(file, JSON.stringify(m));
  if (ageMs > 0) {
    const past = new Date(Date.now() - ageMs);
    utimesSync(file, past, past);
  }
}

void describe("LocalRegistry", () => {
  void it("the last member out removes the group directory; 100 overlapping joins and leaves all register", async () => {
    const a = new LocalRegistry({ dir: root, heartbeatMs: 10_000 });
    const b = new LocalRegistry({ dir: root, heartbeatMs: 10_000 });
    try {
      await a.register(member("leaving", "x.0"));
      await b.register(member("leaving", "x.1"));
      await a.unregister("x.0");
      assert.ok(existsSync(join(root, "leaving")), "kept while a member remains");
      await b.unregister("x.1");
      assert.equal(existsSync(join(root, "leaving")), false, "removed with its last member");
      // One registry leaves while the other joins, 100 times over: no registration fails.
      for (let i = 0; i < 100; i++) {
        await a.register(member("churn", `y.${i}`));
        await Promise.all([a.unregister(`y.${i}`), b.register(member("churn", `z.${i}`))]);
        assert.deepEqual(
          (await b.list("churn")).map((m) => m.name),
          [`z.${i}`],
        );
        await b.unregister(`z.${i}`);
      }
      assert.equal(existsSync(join(root, "churn")), false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  void it("lists registered members and forgets unregistered ones", async () => {
    const reg = new LocalRegistry({ dir: root, heartbeatMs: 100 });
    try {
      const a = member("g1", "worker.0");
      const b = member("g1", "master.0");
      await reg.register(a);
      await reg.register(b);
      assert.deepEqual(
        (await reg.list("g1")).map((m) => m.name),
        ["master.0", "worker.0"],
      );
      assert.equal(await reg.isAlive(a), true);
      await reg.unregister("worker.0");
      assert.deepEqual(
        (await reg.list("g1")).map((m) => m.name),
        ["master.0"],
      );
      assert.equal(await reg.isAlive(a), false);
      assert.deepEqual(await reg.list("no-such-group"), []);
    } finally {
      await reg.close();
    }
    assert.deepEqual(await new LocalRegistry({ dir: root }).list("g1"), [], "close removes own members");
  });

  void it("heartbeats keep a member listed past 3 × heartbeatMs", async () => {
    const reg = new LocalRegistry({ dir: root, heartbeatMs: 40 });
    try {
      await reg.register(member("g2", "worker.0"));
      const started = Date.now();
      await waitFor(() => Date.now() - started > 300, 1000, "time to pass");
      assert.equal((await reg.list("g2")).length, 1);
    } finally {
      await reg.close();
    }
  });

  void it("never lists an entry whose heartbeat stopped or whose pid is dead", async () => {
    const reg = new LocalRegistry({ dir: root, heartbeatMs: 1000 });
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      writeEntry("g3", member("g3", "stale.0"), 10_000); // live pid, heartbeat 10 s old
      writeEntry("g3", member("g3", "fresh.0"));
      const victim = member("g3", "victim.0", child.pid!);
      writeEntry("g3", victim);
      assert.deepEqual(
        (await reg.list("g3")).map((m) => m.name),
        ["fresh.0", "victim.0"],
      );
      child.kill("SIGKILL");
      await exited;
      assert.equal(pidAlive(child.pid!), false);
      assert.deepEqual(
        (await reg.list("g3")).map((m) => m.name),
        ["fresh.0"],
      );
      assert.equal(await reg.isAlive(victim), false);
    } finally {
      child.kill("SIGKILL");
    }
  });

  void it("a re-registered name is a new incarnation; the old one is not alive", async () => {
    const reg = new LocalRegistry({ dir: root, heartbeatMs: 100 });
    try {
      const first = member("g4", "worker.0");
      await reg.register(first);
      const second = { ...first, incarnation: newId() };
      await reg.register(second);
      assert.equal(await reg.isAlive(first), false);
      assert.equal(await reg.isAlive(second), true);
    } finally {
      await reg.close();
    }
  });

  void it("watch reports joins and leaves (including a member whose heartbeat stops)", async () => {
    const reg = new LocalRegistry({ dir: root, heartbeatMs: 50 });
    const other = new LocalRegistry({ dir: root, heartbeatMs: 50 });
    const events: string[] = [];
    const stop = reg.watch("g5", (e: MembershipEvent) => events.push(`${e.kind} ${e.member.name}`));
    try {
      await other.register(member("g5", "worker.0"));
      await waitFor(() => events.includes("join worker.0"), 2000, "join event");
      await other.unregister("worker.0");
      await waitFor(() => events.includes("leave worker.0"), 2000, "leave event");
      // A member whose file stays but whose heartbeat stops leaves within about 3 beats.
      writeEntry("g5", member("g5", "ghost.0"));
      await waitFor(() => events.includes("join ghost.0"), 2000, "ghost join");
      const started = Date.now();
      await waitFor(() => events.includes("leave ghost.0"), 2000, "ghost leave");
      assert.ok(Date.now() - started < 4 * 50 + 300);
    } finally {
      stop();
      await reg.close();
      await other.close();
    }
  });

  void it("rejects unsafe names and bad options with ConfigError", async () => {
    const reg = new LocalRegistry({ dir: root });
    await assert.rejects(reg.register(member("g6", "../evil")), ConfigError);
    await assert.rejects(reg.list("a/b"), ConfigError);
    assert.throws(() => new LocalRegistry({ dir: root, heartbeatMs: 0 }), ConfigError);
  });
});
