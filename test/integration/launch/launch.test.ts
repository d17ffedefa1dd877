import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FIXTURES, ROOT, alive, launch, reap, uniqueGroup, writeJob, type Launched } from "./helpers.ts";

const components = join(FIXTURES, "components.ts");
const running: Launched[] = [];
after(() => running.forEach(reap));

function start(args: string[]): Launched {
  const l = launch(args);
  running.push(l);
  return l;
}

void describe("weft launch", () => {
  void it("restarts a crashed component under the same name, and it receives the messages cached for it", async () => {
    // The sender creates this file once its messages for the crashed worker are cached; the restarted
    // worker waits for it before joining.
    const cached = join(mkdtempSync(join(tmpdir(), "weft-launch-")), "cached");
    const job = writeJob(`group: ${uniqueGroup("launch-rejoin")}
components:
  sender:
    run: ${components}#sender
    args: [${JSON.stringify(cached)}]
  worker:
    run: ${components}#crashingWorker
    args: [${JSON.stringify(cached)}]
    restart: on-failure
    maxRestarts: 2
    restartDelayMs: 300
`);
    const l = start([job]);
    const status = await l.exited(60_000);
    const out = l.stdout() + l.stderr();
    assert.equal(status, 0, out);
    assert.match(out, /worker\.0 +\| worker\.0 crashing on purpose/);
    assert.match(out, /\[weft\] worker\.0 exited with status 3; restarting it in 300 ms \(1\/2\)/);
    assert.match(out, /worker\.0 +\| worker\.0 back \(restart 1\)/);
    assert.match(out, /sender\.0 +\| replies worker\.0:0:restart1,worker\.0:1:restart1,worker\.0:2:restart1/);
    assert.match(out, /2 of 2 processes exited with status 0/);
  });

  void it("ends with a non-zero status naming the component when a restart: never component fails", async () => {
    const job = writeJob(`group: ${uniqueGroup("launch-fail")}
components:
  crasher:
    run: ${components}#crasher
  sleeper:
    count: 2
    run: ${components}#sleeper
`);
    const l = start([job, "--grace-ms", "2000"]);
    const status = await l.exited(30_000);
    assert.equal(status, 5, l.stderr());
    assert.match(l.stderr(), /component crasher\.0 failed: exited with status 1 \(restart: never\)/);
    assert.match(l.stderr(), /crasher\.0 +\| Error: crasher\.0 fails on purpose/);
    const pids = [...l.stdout().matchAll(/ready pid=(\d+)/g)].map((m) => Number(m[1]));
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived`);
  });

  void it("stops every process on SIGTERM, escalating to SIGKILL, and leaves none behind", async () => {
    const marker = `weftmarker${process.pid}x${Date.now()}`;
    const sleepSeconds = 3000 + (process.pid % 997);
    const job = writeJob(`group: ${uniqueGroup("launch-stop")}
components:
  sleeper:
    count: 2
    run: ${components}#sleeper
    args: [${marker}]
  stubborn:
    run: node -e "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready pid=' + process.pid); setInterval(() => {}, 1000)"
    args: [${marker}]
  shell:
    run: sh -c "sleep ${sleepSeconds} & echo ready pid=$$; wait"
`);
    const l = start([job, "--grace-ms", "1500"]);
    await l.waitFor(/(ready pid=\d+[\s\S]*){4}/, 30_000);
    const pids = [...l.stdout().matchAll(/ready pid=(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 4);
    l.child.kill("SIGTERM");
    const status = await l.exited(20_000);
    assert.equal(status, 143, l.stderr());
    assert.match(l.stdout(), /stubborn\.0 +\| ignoring SIGTERM/);
    assert.match(l.stderr(), /stubborn\.0 killed by SIGKILL/);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} survived`);
    const table = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
    const leftovers = table
      .split("\n")
      .filter((line) => line.includes(marker) || line.includes(`sleep ${sleepSeconds}`));
    assert.deepEqual(leftovers, [], "processes left behind");
  });

  void it("leaves no process behind even when the launcher itself is killed with SIGKILL", async () => {
    const marker = `weftkill${process.pid}x${Date.now()}`;
    const job = writeJob(`group: ${uniqueGroup("launch-kill")}
components:
  sleeper:
    count: 2
    run: ${components}#sleeper
  command:
    run: node -e "console.log('ready pid=' + process.pid); setInterval(() => {}, 1000)"
    args: [${marker}]
`);
    const l = start([job]);
    await l.waitFor(/(ready pid=\d+[\s\S]*){3}/, 30_000);
    const pids = [...l.stdout().matchAll(/ready pid=(\d+)/g)].map((m) => Number(m[1]));
    l.child.kill("SIGKILL");
    await l.exited(10_000);
    const deadline = Date.now() + 15_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pids.filter(alive), [], "components outlived the launcher");
    const table = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
    assert.equal(table.includes(marker), false);
  });

  void it("fails the job naming a component whose command cannot be started", async () => {
    const job = writeJob(`group: ${uniqueGroup("launch-enoent")}
components:
  ghost:
    run: weft-no-such-program-${process.pid} --flag
`);
    const l = start([job]);
    assert.equal(await l.exited(20_000), 5, l.stderr());
    assert.match(l.stderr(), /cannot start "weft-no-such-program-\d+": ENOENT/);
    assert.match(l.stderr(), /component ghost\.0 failed: exited with status 127 \(restart: never\)/);
  });

  void it("rejects a malformed job file with exit status 2 and a message naming the field", async () => {
    const job = writeJob(`group: g
components:
  actor:
    count: zero
    run: ./actor.ts#main
    restart: sometimes
`);
    const l = start([job]);
    const status = await l.exited(20_000);
    assert.equal(status, 2);
    assert.match(l.stderr(), /components\.actor\.count: .*expected number/);
    assert.match(l.stderr(), /components\.actor\.restart: /);
    assert.match(l.stderr(), /WEFT_ERR_INVALID_DEPLOYMENT_TEMPLATE/);
  });

  void it("serves /metrics with non-zero message counters for every component during a run", async () => {
    const job = writeJob(`group: ${uniqueGroup("launch-metrics")}
components:
  pinger:
    run: ${components}#pinger
  ponger:
    count: 2
    run: ${components}#ponger
`);
    const l = start([job, "--metrics-port", "0", "--quiet"]);
    const [, url] = (await l.waitFor(/metrics: (http:\S+)/, 20_000)) as unknown as [string, string];
    const names = ["pinger.0", "ponger.0", "ponger.1"];
    const deadline = Date.now() + 30_000;
    let text = "";
    const counter = (metric: string, name: string): number => {
      const m = new RegExp(
        `^${metric}\\{[^}]*component="${name.replace(".", "\\.")}"[^}]*\\} (\\S+)$`,
        "m",
      ).exec(text);
      return m ? Number(m[1]) : 0;
    };
    for (;;) {
      text = await (await fetch(url)).text();
      const ok = names.every(
        (n) => counter("weft_messages_sent_total", n) > 0 && counter("weft_messages_received_total", n) > 0,
      );
      if (ok) break;
      if (Date.now() > deadline) assert.fail(`counters stayed zero:\n${text}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(text, /weft_bytes_sent_total\{[^}]*component="pinger\.0"/);
    assert.match(text, /weft_reply_latency_seconds_count\{[^}]*component="pinger\.0"[^}]*\} [1-9]/);
    assert.match(text, /weft_peers_alive\{[^}]*component="pinger\.0"[^}]*peer_type="ponger"[^}]*\} 2/);
    assert.match(text, /weft_component_up\{component="ponger\.1",type="ponger"\} 1/);
    l.child.kill("SIGTERM");
    assert.equal(await l.exited(20_000), 143, l.stderr());
  });
});

void describe("weft launch across machines", () => {
  void it("runs one job from two launchers (--only) that meet through Redis discovery", async () => {
    const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    const group = uniqueGroup("launch-redis");
    const job = join(ROOT, "examples/cartpole-es/job.yaml");
    const common = ["--group", group, "--discovery", redis];
    const actors = start([job, ...common, "--only", "actor"]);
    const learner = start([job, ...common, "--only", "learner"]);
    const [a, b] = await Promise.all([actors.exited(90_000), learner.exited(90_000)]);
    assert.equal(b, 0, learner.stdout() + learner.stderr());
    assert.equal(a, 0, actors.stdout() + actors.stderr());
    assert.match(
      learner.stdout(),
      /evaluation: average return (47[5-9]|4[89]\d|500)(\.\d)? over 20 episodes/,
    );
    assert.match(actors.stderr(), /4 of 4 processes exited with status 0/);
    assert.doesNotMatch(actors.stdout(), /learner\.0 \|/);
  });

  void it("runs one job from two launchers given the same --hosts list, each starting its share", async () => {
    const redis = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
    const group = uniqueGroup("launch-hosts");
    const job = join(ROOT, "examples/cartpole-es/job.yaml");
    const common = ["--group", group, "--discovery", redis, "--hosts", "a,b"];
    const a = start([job, ...common, "--host", "a"]);
    const b = start([job, ...common, "--host", "b"]);
    const [sa, sb] = await Promise.all([a.exited(90_000), b.exited(90_000)]);
    assert.equal(sa, 0, a.stdout() + a.stderr());
    assert.equal(sb, 0, b.stdout() + b.stderr());
    // learner.0 and actor.0..3 over two hosts: a gets learner.0, actor.1, actor.3; b gets actor.0, actor.2.
    assert.match(a.stderr(), /\[weft\] host a starts learner\.0, actor\.1, actor\.3/);
    assert.match(b.stderr(), /\[weft\] host b starts actor\.0, actor\.2/);
    assert.match(a.stdout(), /evaluation: average return (47[5-9]|4[89]\d|500)(\.\d)? over 20 episodes/);
    assert.match(b.stderr(), /2 of 2 processes exited with status 0/);
  });

  void it("refuses --hosts with local discovery, exit status 2, saying what to set", async () => {
    const job = join(ROOT, "examples/cartpole-es/job.yaml");
    const l = start([job, "--group", uniqueGroup("launch-hosts-local"), "--hosts", "a,b", "--host", "a"]);
    assert.equal(await l.exited(30_000), 2, l.stderr());
    assert.match(l.stderr(), /--hosts needs Redis discovery/);
  });
});
