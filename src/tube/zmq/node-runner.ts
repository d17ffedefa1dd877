/**
 * Node runner: the child process that runs one node of a ZMQRunner. It waits for its configuration on the
 * IPC channel, binds an XPUB for its outputs (reporting the bound endpoint, so TCP can use ephemeral
 * ports), connects to its upstream nodes and to the command node once the caller sends every endpoint,
 * reports `ready` once every expected subscriber is connected (so no output is lost to a late subscriber),
 * then runs one call per epoch. A pooled runner goes back to waiting for a configuration after `quit`.
 * Started as `node --import tsx node-runner.ts` with an IPC channel.
 * @module
 */
import * as zmq from "zeromq";
import { applyCurveClient, applyCurveServer, registerZapDomain } from "../../transport/curve.ts";
import { AssetManager } from "../assets.ts";
import { readLoop } from "../../transport/socket-reader.ts";
import { SocketWriter } from "../../transport/socket-writer.ts";
import { NoEvent } from "../events.ts";
import { Epoch } from "../epoch.ts";
import { Exhausted } from "../node.ts";
import { Tube } from "../tube.ts";
import {
  CONTROL_TOPIC,
  PROCESS_TOPIC,
  decodeOutput,
  encodeOutput,
  packSmall,
  unpackSmall,
  type Command,
  type ControlMessage,
  type NodeOutput,
  type NodeRunnerConfig,
  type SetupMessage,
  type SetupReply,
} from "./protocol.ts";

// A process entry point: when the caller goes away (IPC channel closed), exit so that no node process
// outlives its runner.
process.on("disconnect", () => process.exit(0));

const inbox: SetupMessage[] = [];
let wake: (() => void) | undefined;
process.on("message", (m: SetupMessage) => {
  inbox.push(m);
  wake?.();
});

async function nextMessage<K extends SetupMessage["kind"]>(
  kind: K,
): Promise<Extract<SetupMessage, { kind: K }>> {
  while (true) {
    const i = inbox.findIndex((m) => m.kind === kind);
    if (i >= 0) return inbox.splice(i, 1)[0] as Extract<SetupMessage, { kind: K }>;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
}

function reply(m: SetupReply): void {
  process.send?.(m);
}

/** Runs one node for one runner, until `quit`. */
async function session(config: NodeRunnerConfig): Promise<void> {
  const tube = await Tube.fromSpecification(config.spec, { input: config.input, baseDir: config.baseDir });
  const spec = tube.spec.nodes[config.nodeId]!;
  const rt = tube.createRuntimes().get(config.nodeId)!;
  await rt.init();
  // Assets live in the process of each node that uses them (see docs/tube.md: a runner-scoped asset is
  // one instance per node process). An asset with `depends` is fed from this node's own output.
  const mine = new Set(spec.depends.filter((d) => d.source.kind === "assets").map((d) => d.source.id));
  const assetSpecs = Object.fromEntries(Object.entries(tube.spec.assets).filter(([id]) => mine.has(id)));
  const assets = new AssetManager(
    assetSpecs,
    tube.assetExports,
    new Map([...mine].map((id) => [id, [config.nodeId]])),
  );
  await assets.init();
  const sequential = rt.stateful || mine.size > 0;

  const curve = config.curve;
  const releaseZap = curve ? await registerZapDomain(curve.domain, [curve.publicKey]) : undefined;
  const pub = new zmq.XPublisher({ verbosity: "allSubs", linger: 0 });
  const sub = new zmq.Subscriber({ linger: 0 });
  const cmd = new zmq.Subscriber({ linger: 0 });
  const push = new zmq.Push({ linger: 1000 });
  if (curve) {
    applyCurveServer(pub, curve, curve.domain);
    for (const s of [sub, cmd, push]) applyCurveClient(s, curve, curve.publicKey);
  }
  const pubWriter = new SocketWriter(pub, { label: `${config.nodeId} events` });
  const ctl = new SocketWriter(push, { label: "command node" });
  await pub.bind(config.bind);
  reply({ kind: "bound", nodeId: config.nodeId, endpoint: pub.lastEndpoint ?? config.bind });
  const { endpoints } = await nextMessage("peers");
  push.connect(config.control);
  cmd.connect(config.command);
  const upstreamIds = new Set(spec.depends.filter((d) => d.source.kind === "node").map((d) => d.source.id));
  const needsCommand = upstreamIds.size === 0 || spec.depends.some((d) => d.source.kind === "input");
  if (needsCommand) cmd.subscribe(PROCESS_TOPIC);
  cmd.subscribe(CONTROL_TOPIC);
  const upstream = [...new Set(spec.depends.filter((d) => d.source.kind === "node").map((d) => d.source.id))];
  for (const u of upstream) sub.connect(endpoints[u]!);
  sub.subscribe();

  // Subscription barrier: wait for every expected subscriber before reporting ready.
  let subscribers = 0;
  for await (const [frame] of pub) {
    if (frame?.[0] === 1) subscribers++;
    if (subscribers >= config.subscribers) break;
  }
  // Late (un)subscriptions still arrive on the XPUB: keep counting them so `status` stays true.
  void readLoop(pub, ([frame]) => {
    if (frame?.[0] === 1) subscribers++;
    else if (frame?.[0] === 0) subscribers--;
  });
  await ctl.send([
    packSmall({ kind: "ready", nodeId: config.nodeId, pid: process.pid } satisfies ControlMessage),
  ]);

  // The node's event store: per epoch, its command inputs and its upstream outputs; an epoch's entries are
  // removed as soon as the node runs it.
  const commands = new Map<number, Record<string, unknown>>();
  const outputs = new Map<number, Map<string, NodeOutput>>();
  let next = 0; // stateful nodes run epochs strictly in this order
  let running = 0;
  let draining = false;
  let processed = 0;
  const order: number[] = [];
  let quitting = false;
  let enabled = config.enabled;
  let quit!: () => void;
  const quitted = new Promise<void>((r) => (quit = r));

  const readyEpoch = (epoch: number): boolean =>
    (!needsCommand || commands.has(epoch)) &&
    (upstream.length === 0 || (outputs.get(epoch)?.size ?? 0) >= upstream.length);

  function take(epoch: number): [Record<string, unknown>, Map<string, NodeOutput>] {
    const inputs = commands.get(epoch) ?? {};
    const ups = outputs.get(epoch) ?? new Map<string, NodeOutput>();
    commands.delete(epoch);
    outputs.delete(epoch);
    order.push(epoch);
    if (order.length > 256) order.shift();
    return [inputs, ups];
  }

  async function tryRun(): Promise<void> {
    if (quitting) return;
    if (!sequential) {
      // Stateless: every ready epoch starts at once (bounded), so this node may run ahead of slow epochs.
      for (const epoch of [...(needsCommand ? commands : outputs).keys()]) {
        if (running >= config.concurrency) break;
        if (!readyEpoch(epoch)) continue;
        const [inputs, ups] = take(epoch);
        running++;
        void runOnce(epoch, inputs, ups).finally(() => {
          running--;
          processed++;
          void tryRun();
        });
      }
      return;
    }
    if (draining) return;
    draining = true;
    try {
      while (!quitting && readyEpoch(next)) {
        const epoch = next++;
        const [inputs, ups] = take(epoch);
        running++;
        try {
          await assets.beginEpoch();
          const signals = await runOnce(epoch, inputs, ups);
          for (const a of Object.values(assetSpecs)) {
            const v = a.depends?.id === spec.id ? signals?.[a.depends.signal] : undefined;
            if (v !== undefined) assets.set(a.id, v);
          }
          await assets.endEpoch();
        } finally {
          running--;
          processed++;
        }
      }
    } finally {
      draining = false;
    }
  }

  async function runOnce(
    epoch: number,
    inputs: Record<string, unknown>,
    ups: Map<string, NodeOutput>,
  ): Promise<Record<string, unknown> | undefined> {
    const positional: unknown[] = [];
    let named: Record<string, unknown> | undefined;
    let missing = false;
    let exhausted = false;
    for (const o of ups.values()) if (o.exhausted) exhausted = true;
    for (const dep of spec.depends) {
      let v: unknown = undefined;
      if (dep.source.kind === "input") v = inputs[dep.source.id];
      else if (dep.source.kind === "assets") v = assets.get(dep.source.id, spec.id);
      else if (dep.source.kind === "node") v = ups.get(dep.source.id)?.signals[dep.source.signal];
      const optional =
        (rt.kind === "gather" && dep.slot === "trigger") || spec.optional.includes(String(dep.slot));
      if (v === undefined) {
        if (!optional) missing = true;
        continue;
      }
      if (typeof dep.slot === "number") positional.push(v);
      else (named ??= {})[dep.slot] = v;
    }
    const signals: Record<string, unknown> = {};
    if (!missing && !exhausted && enabled) {
      try {
        const result = await rt.call(positional, named, { nodeId: spec.id, epoch: new Epoch(epoch) });
        if (result === Exhausted) exhausted = true;
        else if (rt.signals.length === 1 && rt.signals[0] === "value") {
          if (result !== NoEvent && result !== undefined) signals.value = result;
        } else if (typeof result === "object" && result !== null) {
          for (const s of rt.signals) {
            const v = (result as Record<string, unknown>)[s];
            if (v !== undefined && v !== NoEvent) signals[s] = v;
          }
        }
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        // The error travels with the epoch's output, on the same ordered channel, so the caller cannot see
        // the epoch complete before it sees the error; dependents get no signals and are cancelled.
        void pubWriter
          .send(
            encodeOutput({
              nodeId: spec.id,
              epoch,
              exhausted,
              signals: {},
              error: { name: e.name, message: e.message, stack: e.stack ?? "" },
            }),
          )
          .catch(() => {});
        return undefined;
      }
    }
    // Not awaited: the writer's queue keeps outputs in order, and the caller's in-flight bound keeps it
    // short, so the node can start its next epoch while ZeroMQ takes this one.
    void pubWriter.send(encodeOutput({ nodeId: spec.id, epoch, exhausted, signals })).catch(() => {});
    return signals;
  }

  async function shutdown(): Promise<void> {
    if (quitting) return;
    quitting = true;
    await rt.deinit().catch(() => {});
    await assets.deinit().catch(() => {});
    pubWriter.close();
    ctl.close();
    for (const s of [pub, sub, cmd, push]) s.close();
    releaseZap?.();
    quit();
  }

  void readLoop(sub, (frames) => {
    const out = decodeOutput(frames);
    let m = outputs.get(out.epoch);
    if (m === undefined) outputs.set(out.epoch, (m = new Map()));
    m.set(out.nodeId, out);
    return tryRun();
  });
  void readLoop(cmd, async (frames) => {
    const c = unpackSmall(frames[1]!) as Command;
    if (c.kind === "quit") return shutdown();
    if (c.kind === "enable") {
      if (c.nodeId === config.nodeId) enabled = c.enabled;
      return;
    }
    if (c.kind === "status") {
      const pending = new Set([...commands.keys(), ...outputs.keys()]).size;
      const status: ControlMessage = {
        kind: "status",
        request: c.request,
        nodeId: config.nodeId,
        processed,
        pending,
        running,
        subscribers,
        order: [...order],
      };
      return ctl.send([packSmall(status)]);
    }
    commands.set(c.epoch, c.inputs);
    return tryRun();
  });
  await quitted;
}

while (true) {
  const { config } = await nextMessage("start");
  await session(config);
  if (!config.pooled) process.exit(0);
  reply({ kind: "idle" });
}
