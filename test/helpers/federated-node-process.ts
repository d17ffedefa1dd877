// A node in its own process: echoes every task's payload back and prints "connected" once it is,
// then its peak memory (rss, bytes) as "peak N" after each task.
import { NodeClient } from "../../src/federated/index.ts";
import { DummyLogger } from "../../src/core/logger.ts";

const [port, nodeId] = process.argv.slice(2);
let peak = process.memoryUsage().rss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
sampler.unref();
const node = new NodeClient({
  nodeId: nodeId ?? "child",
  researchers: [{ host: "127.0.0.1", port: Number(port) }],
  logger: new DummyLogger(),
  onTask: (task) => {
    setImmediate(() => process.stdout.write(`peak ${Math.max(peak, process.memoryUsage().rss)}\n`));
    return task.payload;
  },
});
node.start();
await node.waitConnected({ timeoutMs: 20_000 });
process.stdout.write("connected\n");
process.on("SIGTERM", () => void node.stop().then(() => process.exit(0)));
