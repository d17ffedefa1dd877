// In-process groups for the proxy tests: a master and N workers that serve replies like proxy-worker.ts.
import { DummyLogger } from "../../src/core/logger.ts";
import { Message } from "../../src/core/message.ts";
import { Proxy, type ProxyOptions } from "../../src/proxy/index.ts";
import { uniqueName } from "./proxy-util.ts";

/**
 * Replies to every message until the proxy closes: "sum" → sum of the payload, "hang" → nothing,
 * "note-then-reply" → first an unrelated "note" message to the sender, then the reply; else { echo }.
 */
export async function serve(proxy: Proxy): Promise<void> {
  for await (const msg of proxy.receive()) {
    try {
      if (msg.tag === "hang") continue;
      if (msg.tag === "sum") {
        await proxy.reply(msg, { payload: (msg.payload as number[]).reduce((a, b) => a + b, 0) });
      } else if (msg.tag === "note-then-reply") {
        await proxy.isend(
          new Message({ tag: "note", source: proxy.name, destination: msg.source, payload: "unrelated" }),
        );
        await proxy.reply(msg, { payload: "answer" });
      } else {
        await proxy.reply(msg, { payload: { echo: msg.payload } });
      }
    } catch {
      // The proxy closed mid-reply.
    }
  }
}

export interface Group {
  group: string;
  master: Proxy;
  workers: Proxy[];
  close(): Promise<void>;
}

/** Creates a master and `n` workers concurrently; workers serve replies unless `serveWorkers` is false. */
export async function createGroup(
  n: number,
  options: {
    master?: Partial<ProxyOptions>;
    worker?: Partial<ProxyOptions>;
    serveWorkers?: boolean;
    group?: string;
  } = {},
): Promise<Group> {
  const group = options.group ?? uniqueName("grp");
  const made = await Promise.allSettled([
    Proxy.create({
      groupName: group,
      componentType: "master",
      componentName: "master",
      expectedPeers: { worker: n },
      logger: new DummyLogger(),
      ...options.master,
    }),
    ...Array.from({ length: n }, (_, i) =>
      Proxy.create({
        groupName: group,
        componentType: "worker",
        componentName: `worker.${i}`,
        expectedPeers: { master: 1 },
        logger: new DummyLogger(),
        ...options.worker,
      }),
    ),
  ]);
  const ok = made.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = made.find((r) => r.status === "rejected");
  if (failed) {
    await Promise.all(ok.map((p) => p.close()));
    throw failed.reason;
  }
  const [master, ...workers] = ok as [Proxy, ...Proxy[]];
  if (options.serveWorkers !== false) for (const w of workers) void serve(w);
  return {
    group,
    master,
    workers,
    close: async () => {
      await Promise.all(ok.map((p) => p.close()));
    },
  };
}
