import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Registry } from "prom-client";
import { Message, SessionType } from "../../../src/core/message.ts";
import { JobMetrics } from "../../../src/observability/job-metrics.ts";
import { serveMetrics } from "../../../src/observability/metrics-server.ts";
import { ProxyMetrics } from "../../../src/observability/proxy-metrics.ts";
import { Proxy } from "../../../src/proxy/proxy.ts";

function value(text: string, metric: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${metric}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

const group = `obs-${process.pid}-${Date.now()}`;
let master: Proxy | undefined;
let worker: Proxy | undefined;
after(async () => {
  await Promise.all([master?.close(), worker?.close()]);
});

void describe("ProxyMetrics", () => {
  void it("counts a real proxy's traffic, peers and reply latency, read at scrape time", async () => {
    [master, worker] = await Promise.all([
      Proxy.create({
        groupName: group,
        componentType: "master",
        componentName: "m",
        expectedPeers: { worker: 1 },
      }),
      Proxy.create({
        groupName: group,
        componentType: "worker",
        componentName: "w",
        expectedPeers: { master: 1 },
      }),
    ]);
    const w = worker;
    void (async () => {
      for await (const msg of w.receive()) await w.reply(msg, { payload: "ok" });
    })();
    const metrics = new ProxyMetrics();
    metrics.track(master);
    metrics.track(worker);
    metrics.track(master); // tracking twice counts once
    for (let i = 0; i < 5; i++) {
      await master.send(new Message({ tag: "t", source: "m", destination: "w", payload: i }), {
        timeoutMs: 5000,
      });
    }
    await master.scatter("s", SessionType.TASK, [["w", 1]], { timeoutMs: 5000 });
    const text = await metrics.registry.metrics();
    const stats = master.getStats();
    assert.equal(value(text, "weft_messages_sent_total", 'component="m"'), stats.messagesSent);
    assert.equal(value(text, "weft_messages_sent_total", 'component="m"'), 6);
    assert.equal(value(text, "weft_messages_received_total", 'component="m"'), 6);
    assert.equal(value(text, "weft_messages_received_total", 'component="w"'), 6);
    assert.equal(value(text, "weft_bytes_sent_total", 'component="m"'), stats.bytesSent);
    assert.ok(stats.bytesSent > 0);
    assert.equal(value(text, "weft_messages_dropped_total", 'component="m"'), 0);
    assert.equal(value(text, "weft_peers_alive", 'component="m",type="master",peer_type="worker"'), 1);
    assert.equal(value(text, "weft_reply_latency_seconds_count", 'component="m"'), 6);
    // A second scrape adds only what happened since.
    await master.send(new Message({ tag: "t", source: "m", destination: "w" }), { timeoutMs: 5000 });
    const again = await metrics.registry.metrics();
    assert.equal(value(again, "weft_messages_sent_total", 'component="m"'), 7);
  });
});

void describe("JobMetrics", () => {
  void it("aggregates the snapshots of several processes and adds the launcher's gauges", async () => {
    const snapshot = async (component: string, sent: number) => {
      const registry = new Registry();
      const fake = {
        name: component,
        componentType: "actor",
        peersName: { learner: ["learner.0"] },
        getStats: () => ({
          messagesSent: sent,
          messagesReceived: 1,
          bytesSent: 10,
          bytesReceived: 10,
          decodeErrors: 0,
          dropped: 0,
          cached: 0,
        }),
        onReplyWait: () => () => {},
      };
      const m = new ProxyMetrics({ registry });
      m.track(fake);
      return registry.getMetricsAsJSON();
    };
    const job = new JobMetrics();
    job.report("actor.0", await snapshot("actor.0", 3));
    job.report("actor.1", await snapshot("actor.1", 4));
    job.report("actor.1", await snapshot("actor.1", 5)); // the latest snapshot replaces the previous one
    job.componentUp("actor.0", "actor", true);
    job.componentRestarted("actor.1", "actor");
    const text = await job.metrics();
    assert.equal(value(text, "weft_messages_sent_total", 'component="actor.0"'), 3);
    assert.equal(value(text, "weft_messages_sent_total", 'component="actor.1"'), 5);
    assert.equal(value(text, "weft_component_up", 'component="actor.0"'), 1);
    assert.equal(value(text, "weft_component_restarts_total", 'component="actor.1"'), 1);
  });
});

void describe("serveMetrics", () => {
  void it("serves /metrics, 404 elsewhere, and reports a port in use", async () => {
    const server = await serveMetrics({ port: 0, render: () => Promise.resolve("weft_x 1\n") });
    try {
      const res = await fetch(server.url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/plain; version=0\.0\.4/);
      assert.equal(await res.text(), "weft_x 1\n");
      assert.equal((await fetch(server.url.replace("/metrics", "/other"))).status, 404);
      await assert.rejects(
        serveMetrics({ port: server.port, render: () => Promise.resolve("") }),
        /cannot serve metrics on 127\.0\.0\.1:\d+: EADDRINUSE/,
      );
    } finally {
      await server.close();
    }
  });
});
