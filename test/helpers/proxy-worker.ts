// A proxy worker in its own process. argv[2] is JSON ProxyOptions (without logger). Prints "ready <name>"
// once created, then "got <tag> <payload as JSON, cut at 200 characters>" for every message, and replies:
//   "sum"  → the sum of the payload array;   "hang" → no reply (the caller waits);
//   "exit" → replies, then closes the proxy and exits 0;   "stall" → stops reading for good;
//   anything else → { echo: payload }.
import { Proxy, type ProxyOptions } from "../../src/proxy/index.ts";
import { DummyLogger } from "../../src/core/logger.ts";

const options = JSON.parse(process.argv[2] ?? "{}") as ProxyOptions;
const proxy = await Proxy.create({ ...options, logger: new DummyLogger() });
process.stdout.write(`ready ${proxy.name}\n`);
process.on("SIGTERM", () => void proxy.close().then(() => process.exit(0)));
for await (const msg of proxy.receive()) {
  // At most 200 characters of the payload: enough to identify it, without megabytes of output.
  process.stdout.write(`got ${msg.tag} ${String(JSON.stringify(msg.payload)).slice(0, 200)}\n`);
  if (msg.tag === "hang") continue;
  if (msg.tag === "stall") await new Promise((resolve) => setTimeout(resolve, 2 ** 31 - 1));
  if (msg.tag === "sum") {
    await proxy.reply(msg, { payload: (msg.payload as number[]).reduce((a, b) => a + b, 0) });
  } else if (msg.tag === "exit") {
    await proxy.reply(msg, { payload: "bye" });
    await proxy.close();
    break;
  } else {
    await proxy.reply(msg, { payload: { echo: msg.payload } });
  }
}
process.exit(0);
