import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { command as keys } from "../../../src/cli/keys.ts";
import { command as peers, type PeerRow } from "../../../src/cli/peers.ts";
import { BadRequestError, FileOperationError, RedisConnectionError } from "../../../src/core/errors.ts";
import { newId } from "../../../src/core/ids.ts";
import { Proxy } from "../../../src/proxy/proxy.ts";
import { LocalRegistry } from "../../../src/discovery/local-registry.ts";
import { RedisRegistry } from "../../../src/discovery/redis-registry.ts";
import type { MemberInfo } from "../../../src/discovery/registry.ts";
import { readCurveKeyFile } from "../../../src/transport/curve.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const tmp = mkdtempSync(join(tmpdir(), "weft-keys-peers-"));
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs a subcommand object, capturing what it prints. */
async function run(
  cmd: { run(argv: string[]): Promise<number> },
  argv: string[],
): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const status = await cmd.run(argv);
    return { status, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function member(group: string, name: string, pid: number): MemberInfo {
  return {
    group,
    type: name.split(".")[0]!,
    name,
    addresses: { unicast: `tcp://127.0.0.1:${5000 + name.length}`, broadcast: "tcp://127.0.0.1:6000" },
    pid,
    host: hostname(),
    meta: {},
    incarnation: newId(),
  };
}

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  return new Promise((resolve) => child.once("exit", () => resolve(child.pid!)));
}

void describe("weft keys", () => {
  void it("generate writes a 0600 key pair file and prints its public key; show prints it again", async () => {
    const file = join(tmp, "group.key");
    const r = await run(keys, ["generate", "--out", file]);
    assert.equal(r.status, 0);
    assert.match(r.out, /^\S{40}$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const pair = readCurveKeyFile(file);
    assert.equal(pair.publicKey, r.out);
    assert.notEqual(pair.secretKey, pair.publicKey);
    const shown = await run(keys, ["show", file]);
    assert.equal(shown.out, pair.publicKey);
    assert.ok(!shown.out.includes(pair.secretKey));
  });

  void it("refuses to overwrite without --force; --force writes a new pair with mode 0600", async () => {
    const file = join(tmp, "existing.key");
    writeFileSync(file, "old", { mode: 0o644 });
    await assert.rejects(run(keys, ["generate", "--out", file]), FileOperationError);
    const r = await run(keys, ["generate", "--out", file, "--force"]);
    assert.equal(r.status, 0);
    assert.equal(readCurveKeyFile(file).publicKey, r.out);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  void it("rejects a missing or unknown action and unknown options with BadRequestError", async () => {
    await assert.rejects(run(keys, []), BadRequestError);
    await assert.rejects(run(keys, ["rotate"]), BadRequestError);
    await assert.rejects(run(keys, ["generate", "--bogus"]), BadRequestError);
    await assert.rejects(run(keys, ["show"]), BadRequestError);
  });
});

void describe("weft peers", () => {
  void it("lists live members of a local-registry group, and with --all the stale entry of a dead process", async () => {
    const dir = join(tmp, "registry");
    const group = `peers-${process.pid}`;
    const registry = new LocalRegistry({ dir });
    cleanups.push(() => registry.close());
    await registry.register(member(group, "master.0", process.pid));
    await registry.register(member(group, "worker.0", process.pid));
    await registry.register(member(group, "worker.1", await deadPid()));

    const table = await run(peers, ["--group", group, "--dir", dir]);
    assert.equal(table.status, 0);
    const lines = table.out.split("\n");
    assert.match(lines[0]!, /^TYPE\s+NAME\s+ADDRESS\s+PID@HOST\s+LIVENESS$/);
    assert.equal(lines.length, 3, table.out);
    assert.match(
      lines[1]!,
      new RegExp(`^master\\s+master\\.0\\s+tcp://127\\.0\\.0\\.1:\\d+\\s+${process.pid}@\\S+\\s+alive$`),
    );
    assert.match(lines[2]!, /^worker\s+worker\.0\s.*alive$/);

    const all = await run(peers, ["--group", group, "--dir", dir, "--all", "--json"]);
    const rows = all.out.split("\n").map((l) => JSON.parse(l) as PeerRow);
    assert.deepEqual(
      rows.map((r) => [r.name, r.liveness.startsWith("stale: process") ? "stale" : r.liveness]),
      [
        ["master.0", "alive"],
        ["worker.0", "alive"],
        ["worker.1", "stale"],
      ],
    );
    const empty = await run(peers, ["--group", `${group}-none`, "--dir", dir]);
    assert.equal(empty.out, `no members in group "${group}-none"`);
  });

  void it("lists members of a Redis group; --all shows an entry whose heartbeat key expired", async () => {
    const prefix = `weft-test-peers-${process.pid}-${Date.now()}:`;
    const group = "g";
    const registry = await RedisRegistry.connect({ url: REDIS_URL, keyPrefix: prefix });
    const raw = new Redis(REDIS_URL);
    cleanups.push(async () => {
      await registry.close();
      const found = await raw.keys(`${prefix}*`);
      if (found.length > 0) await raw.del(...found);
      raw.disconnect();
    });
    await registry.register(member(group, "learner.0", process.pid));
    // A member whose process died: its hash entry is there, its heartbeat key is not.
    const ghost = member(group, "actor.3", 4242);
    await raw.sadd(`${prefix}${group}:types`, "actor");
    await raw.hset(`${prefix}${group}:actor`, ghost.name, JSON.stringify(ghost));

    const live = await run(peers, ["--group", group, "--redis", REDIS_URL, "--key-prefix", prefix, "--json"]);
    assert.deepEqual(
      live.out.split("\n").map((l) => (JSON.parse(l) as PeerRow).name),
      ["learner.0"],
    );
    const all = await run(peers, ["--group", group, "--redis", REDIS_URL, "--key-prefix", prefix, "--all"]);
    assert.match(all.out, /actor\s+actor\.3\s.*4242@\S+\s+stale: heartbeat key expired/);
    assert.match(all.out, /learner\s+learner\.0\s.*alive/);
  });

  void it("shows the real bound addresses of running proxies", async () => {
    const dir = join(tmp, "registry-proxies");
    const group = `peers-live-${process.pid}`;
    const discovery = { type: "local" as const, dir };
    const [master, worker] = await Promise.all([
      Proxy.create({
        groupName: group,
        componentType: "master",
        componentName: "master",
        expectedPeers: { worker: 1 },
        discovery,
      }),
      Proxy.create({
        groupName: group,
        componentType: "worker",
        componentName: "worker.0",
        expectedPeers: { master: 1 },
        discovery,
      }),
    ]);
    try {
      const r = await run(peers, ["--group", group, "--dir", dir, "--json"]);
      const rows = r.out.split("\n").map((l) => JSON.parse(l) as PeerRow);
      assert.deepEqual(
        rows.map((x) => [x.type, x.name, x.address, x.broadcast, x.pid, x.liveness]),
        [
          ["master", "master", master.addresses.unicast, master.addresses.broadcast, process.pid, "alive"],
          ["worker", "worker.0", worker.addresses.unicast, worker.addresses.broadcast, process.pid, "alive"],
        ],
      );
    } finally {
      await Promise.all([master.close(), worker.close()]);
    }
    // Closed proxies unregister: the group is empty again.
    const after = await run(peers, ["--group", group, "--dir", dir, "--all"]);
    assert.equal(after.out, `no members in group "${group}"`);
  });

  void it("reports bad arguments and an unreachable Redis as typed errors", async () => {
    await assert.rejects(run(peers, []), BadRequestError);
    await assert.rejects(run(peers, ["--group", "g", "--redis", "localhost:6379"]), BadRequestError);
    await assert.rejects(
      run(peers, ["--group", "g", "--redis", "redis://127.0.0.1:1"]),
      RedisConnectionError,
    );
  });
});
