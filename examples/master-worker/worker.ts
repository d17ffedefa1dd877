/**
 * A worker of the master–worker example: joins the group, sums every Float64Array chunk the master
 * scatters to it, and leaves when the master broadcasts "stop" (or when the launching process goes away).
 *
 * Started by `main.ts` as `node --import tsx worker.ts <group> <name>`; run by hand the same way to add a
 * worker to a running group.
 */
import { fileURLToPath } from "node:url";
import { Proxy } from "../../src/proxy/proxy.ts";

/**
 * Runs one worker until the master says "stop". Resolves to the number of chunks it summed.
 * @example
 * ```ts
 * const chunks = await runWorker("master-worker-123", "worker.0");
 * ```
 */
export async function runWorker(groupName: string, componentName: string): Promise<number> {
  await using proxy = await Proxy.create({
    groupName,
    componentType: "worker",
    componentName,
    expectedPeers: { master: 1 },
  });
  // A launcher that dies takes its workers with it (fork's IPC channel closes).
  process.once("disconnect", () => void proxy.close());
  let chunks = 0;
  for await (const msg of proxy.receive()) {
    if (msg.tag === "stop") break;
    if (msg.tag === "sum") {
      const data = msg.payload as Float64Array;
      let sum = 0;
      for (let i = 0; i < data.length; i++) sum += data[i]!;
      chunks++;
      await proxy.reply(msg, { payload: sum });
    } else {
      await proxy.reply(msg, { tag: "error", payload: `unknown tag ${msg.tag}` });
    }
  }
  return chunks;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [group, name] = process.argv.slice(2);
  if (group === undefined || name === undefined) {
    console.error("usage: node --import tsx examples/master-worker/worker.ts <group> <name>");
    process.exitCode = 2;
  } else {
    const chunks = await runWorker(group, name);
    console.log(`${name}: summed ${chunks} chunks`);
    // Started with fork(): the IPC channel would keep this process alive.
    if (process.connected) process.disconnect();
  }
}
