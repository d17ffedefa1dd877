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
import { NodeMetricsRecorder } from "../metrics.ts";
import { readLoop } from "../../transport/socket-reader.ts";
import { SocketWriter } from "../../transport/socket-writer.ts";
import { NoEvent } from "../events.ts";
import { Exhausted } from "../node.ts";
import { Tube } from "../tube.ts";
import {
  CONTROL_TOPIC,
  PROCESS_TOPIC,
  decodeCommand,
  decodeOutput,
  encodeOutput,
  packSmall,
  type ControlMessage,
  type NodeRunnerConfig,
  type SetupMessage,
  type SetupReply,
  type NodeOutput,
} from "./protocol.ts";
import { NodeEpochs, type RootState } from "./node-epochs.ts";
import { MISSING, NOT_READY, SubEpochModel, pathKey, type CallArgs, type ItemPath } from "./sub-epochs.ts";

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
  const hasAssets = mine.size > 0;
  const metrics = new NodeMetricsRecorder(spec.id, config.metrics);
  const sequential = rt.stateful || hasAssets;

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
  const model = new SubEpochModel(tube);
  // Its node dependencies and the maps enclosing them (for their item counts).
  const watched = model.watched(spec.id);
  const needsCommand =
    !spec.depends.some((d) => d.source.kind === "node") ||
    spec.depends.some((d) => d.source.kind === "input");
  if (needsCommand) cmd.subscribe(PROCESS_TOPIC);
  cmd.subscribe(CONTROL_TOPIC);
  for (const u of watched) sub.connect(endpoints[u]!);
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

  const epochs = new NodeEpochs(model, spec.id, watched, sequential);
  let running = 0;
  let draining = false;
  let processed = 0;
  const order: number[] = [];
  let quitting = false;
  let enabled = config.enabled;
  let quit!: () => void;
  const quitted = new Promise<void>((r) => (quit = r));

  // Arguments of one call, undefined while an output it needs has not arrived, MISSING when a required
  // dependency has no event (the node is cancelled in that sub-epoch).
  function prepare(st: RootState, path: ItemPath): CallArgs | typeof MISSING | undefined {
    if (needsCommand && st.inputs === undefined) return undefined;
    const positional: unknown[] = [];
    let named: Record<string, unknown> | undefined;
    let missing = false;
    for (let k = 0; k < spec.depends.length; k++) {
      const dep = spec.depends[k]!;
      let v: unknown;
      if (dep.source.kind === "input") v = st.inputs?.[dep.source.id];
      else if (dep.source.kind === "assets") v = assets.get(dep.source.id, spec.id);
      else {
        v = model.depValue(spec.id, k, st.outs, path);
        if (v === NOT_READY) return undefined;
      }
      if (v === undefined) {
        if (!(rt.kind === "gather" && dep.slot === "trigger") && !spec.optional.includes(String(dep.slot)))
          missing = true;
        continue;
      }
      if (typeof dep.slot === "number") positional.push(v);
      else (named ??= {})[dep.slot] = v;
    }
    return missing ? MISSING : { positional, named };
  }

  function tryRun(): Promise<void> | undefined {
    if (quitting) return;
    if (sequential) return drain();
    // Stateless: every ready sub-epoch starts at once (bounded), so this node may run ahead of slow epochs.
    for (const [root, st] of epochs) {
      if (running >= config.concurrency) break;
      const paths = epochs.pathsOf(st) ?? model.instances(spec.id, st.outs).paths;
      for (const path of paths) {
        if (running >= config.concurrency) break;
        const key = pathKey(path);
        if (st.started.has(key)) continue;
        const args = prepare(st, path);
        if (args === undefined) continue;
        st.started.add(key);
        started(root);
        running++;
        void runOnce(root, path, args, st).finally(() => {
          running--;
          processed++;
          st.done++;
          epochs.release(root, st);
          void tryRun();
        });
      }
      if (st.paths?.length === 0) epochs.release(root, st);
    }
    return undefined;
  }

  function started(root: number): void {
    order.push(root);
    if (order.length > 256) order.shift();
  }

  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    try {
      while (!quitting) {
        const root = epochs.next;
        const st = epochs.get(root);
        if (st === undefined || (needsCommand && st.inputs === undefined)) break;
        const paths = epochs.pathsOf(st);
        if (paths === undefined) break;
        if (!st.begun) {
          st.begun = true;
          if (hasAssets) await assets.beginEpoch();
        }
        while (st.done < paths.length) {
          const path = paths[st.done]!;
          const args = prepare(st, path);
          if (args === undefined) break;
          started(root);
          running++;
          try {
            const signals = await runOnce(root, path, args, st);
            for (const a of Object.values(assetSpecs)) {
              const v =
                a.depends?.id === spec.id && path.length === 0 ? signals?.[a.depends.signal] : undefined;
              if (v !== undefined) assets.set(a.id, v);
            }
          } finally {
            running--;
            processed++;
            st.done++;
          }
        }
        if (st.done < paths.length) break;
        if (hasAssets) await assets.endEpoch();
        epochs.next++;
        epochs.release(root, st);
      }
    } finally {
      draining = false;
    }
  }

  async function runOnce(
    root: number,
    path: ItemPath,
    args: CallArgs | typeof MISSING,
    st: RootState,
  ): Promise<Record<string, unknown> | undefined> {
    let exhausted = st.outs.exhausted;
    const signals: Record<string, unknown> = {};
    if (!exhausted && (args === MISSING || !enabled)) metrics.cancelled();
    if (args !== MISSING && !exhausted && enabled) {
      const epoch = model.epochOf(spec.id, root, path);
      const t0 = metrics.start();
      try {
        let result = rt.call(args.positional, args.named, { nodeId: spec.id, epoch });
        // Only a promise is awaited: a plain result goes out without an extra turn of the event loop.
        if (result instanceof Promise) result = await result;
        metrics.done(t0, false);
        if (result === Exhausted) exhausted = true;
        else if (rt.kind === "map") {
          // One output carries every item; dependents take item i in sub-epoch i.
          if (result !== NoEvent) {
            signals.value = result;
            signals.n = (result as unknown[]).length;
          }
        } else if (rt.signals.length === 1 && rt.signals[0] === "value") {
          if (result !== NoEvent && result !== undefined) signals.value = result;
        } else if (typeof result === "object" && result !== null) {
          for (const s of rt.signals) {
            const v = (result as Record<string, unknown>)[s];
            if (v !== undefined && v !== NoEvent) signals[s] = v;
          }
        }
      } catch (err) {
        metrics.done(t0, true);
        const e = err instanceof Error ? err : new Error(String(err));
        // The error travels with the epoch's output and every dependent passes it on in its own, so the
        // caller cannot see the epoch complete before it sees the error; dependents get no signals and are
        // cancelled.
        const error = {
          nodeId: spec.id,
          at: epoch.key,
          name: e.name,
          message: e.message,
          stack: e.stack ?? "",
        };
        publish({ nodeId: spec.id, epoch: root, path, exhausted, signals: {}, error }, st);
        return undefined;
      }
    }
    publish({ nodeId: spec.id, epoch: root, path, exhausted, signals }, st);
    return signals;
  }

  function publish(out: NodeOutput, st: RootState): void {
    if (out.error === undefined && st.error !== undefined) out.error = st.error;
    if (st.report) out.report = true;
    const toCaller = config.toCaller || st.report;
    // Not awaited: the writer's queue keeps outputs in order, and the caller's in-flight bound keeps it
    // short, so the node can start its next epoch while ZeroMQ takes this one.
    void pubWriter.send(encodeOutput(out, toCaller)).catch(() => {});
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
    epochs.receive(decodeOutput(frames));
    return tryRun();
  });
  void readLoop(cmd, async (frames) => {
    const c = decodeCommand(frames[0]!);
    if (c.kind === "quit") return shutdown();
    if (c.kind === "enable") {
      if (c.nodeId !== config.nodeId) return;
      enabled = c.enabled;
      const ack: ControlMessage = { kind: "enabled", request: c.request, nodeId: config.nodeId };
      return ctl.send([packSmall(ack)]);
    }
    if (c.kind === "status") {
      const pending = epochs.size;
      const status: ControlMessage = {
        kind: "status",
        request: c.request,
        nodeId: config.nodeId,
        processed,
        pending,
        running,
        subscribers,
        order: [...order],
        metrics: metrics.snapshot(),
      };
      return ctl.send([packSmall(status)]);
    }
    const st = epochs.stateOf(c.epoch);
    st.inputs = c.inputs;
    if (c.report === true) st.report = true;
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
