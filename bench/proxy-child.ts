// Child process of bench/proxy.ts: the receiving side of each proxy benchmark, either a weft Proxy or raw
// zeromq.js sockets. Started with fork() and a role in WEFT_BENCH_PROXY_CHILD; it tells the parent its
// addresses over the IPC channel and exits when the parent says "quit" or goes away. Run directly (as
// `npm run bench` does with every bench file) it does nothing.
import * as zmq from "zeromq";
import { Proxy } from "../src/proxy/proxy.ts";

/** What the parent asks a child to be. */
export interface ChildRole {
  /** weft-sink: counts messages, replies to "end" with the count. weft-echo: replies to everything
   * (small payload for big requests). raw-sink: PULL counting frames, answers "end" through a PUSH to
   * `replyTo`. raw-echo: ROUTER echoing (small frame for big requests). raw-pull-echo: PULL answering each
   * frame through a PUSH to `replyTo`. */
  kind: "weft-sink" | "weft-echo" | "raw-sink" | "raw-echo" | "raw-pull-echo";
  group?: string;
  name?: string;
  replyTo?: string;
}

/** Messages from the child to the parent. */
export type ChildReport = { ready: true; address?: string };

const SMALL = 1024;

async function weftChild(role: ChildRole): Promise<() => Promise<void>> {
  const proxy = await Proxy.create({
    groupName: role.group!,
    componentType: "worker",
    componentName: role.name!,
    expectedPeers: { master: 1 },
  });
  let count = 0;
  void (async () => {
    for await (const m of proxy.receive()) {
      if (role.kind === "weft-sink") {
        if (m.tag === "end") await proxy.reply(m, { payload: count });
        else count++;
        continue;
      }
      const p = m.payload as { byteLength?: number } | undefined;
      const big = p !== undefined && p !== null && (p.byteLength ?? 0) > SMALL;
      await proxy.reply(m, big ? { payload: 1 } : {});
    }
  })();
  process.send!({ ready: true } satisfies ChildReport);
  return () => proxy.close();
}

async function rawChild(role: ChildRole): Promise<() => Promise<void>> {
  const small = Buffer.from([1]);
  if (role.kind === "raw-echo") {
    const router = new zmq.Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:0");
    void (async () => {
      for await (const [id, body] of router) {
        await router.send([id!, body!.length > SMALL ? small : body!]);
      }
    })().catch(() => {});
    process.send!({ ready: true, address: router.lastEndpoint! } satisfies ChildReport);
    return () => Promise.resolve(router.close());
  }
  const pull = new zmq.Pull({ linger: 0 });
  const push = new zmq.Push({ linger: 0 });
  await pull.bind("tcp://127.0.0.1:0");
  push.connect(role.replyTo!);
  let count = 0;
  void (async () => {
    for await (const [body] of pull) {
      if (role.kind === "raw-sink") {
        if (body!.length === 3 && body!.toString() === "end") await push.send(String(count));
        else count++;
      } else await push.send(body!.length > SMALL ? small : body!);
    }
  })().catch(() => {});
  process.send!({ ready: true, address: pull.lastEndpoint! } satisfies ChildReport);
  return () => {
    pull.close();
    push.close();
    return Promise.resolve();
  };
}

const spec = process.env.WEFT_BENCH_PROXY_CHILD;
if (spec !== undefined && process.send !== undefined) {
  const role = JSON.parse(spec) as ChildRole;
  const stop = role.kind.startsWith("weft") ? await weftChild(role) : await rawChild(role);
  const quit = (): void => {
    const hard = setTimeout(() => process.exit(0), 3000);
    hard.unref();
    void stop().finally(() => process.exit(0));
  };
  process.on("message", (m) => {
    if (m === "quit") quit();
  });
  process.on("disconnect", quit);
}
