import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LoggerLike } from "../../../src/core/logger.ts";
import { Message, SessionType } from "../../../src/core/message.ts";
import { dist, type Proxy } from "../../../src/proxy/index.ts";
import { createGroup } from "../../helpers/proxy-group.ts";
import { waitFor } from "../../helpers/proxy-util.ts";

class Accumulator {
  total = 0;
  calls = 0;
}

function recordingLogger(errors: string[]): LoggerLike {
  const nop = (): void => {};
  return {
    debug: nop,
    info: nop,
    warn: nop,
    critical: nop,
    process: nop,
    error: (m: string) => errors.push(m),
  };
}

void describe("dist", () => {
  void it("round trip: a wrapped class answers the master's scatter through its handlers", async () => {
    const g = await createGroup(2, { serveWorkers: false });
    const instances: (Accumulator & { launch(): Promise<void>; stop(): void })[] = [];
    const loops: Promise<void>[] = [];
    try {
      for (const w of g.workers) {
        const DistAcc = dist<Accumulator>(w, {
          "master:sum:1": async (that, proxy, [msg]) => {
            const sum = (msg!.payload as number[]).reduce((a, b) => a + b, 0);
            that.total += sum;
            await proxy.reply(msg!, { payload: sum });
          },
        })(Accumulator);
        const inst = new DistAcc();
        instances.push(inst);
        loops.push(inst.launch());
      }
      for (let round = 0; round < 3; round++) {
        const replies = await g.master.scatter(
          "sum",
          SessionType.TASK,
          [
            ["worker.0", [1, round]],
            ["worker.1", [10, round]],
          ],
          { timeoutMs: 5000 },
        );
        assert.deepEqual(Object.fromEntries(replies.map((r) => [r.source, r.payload])), {
          "worker.0": 1 + round,
          "worker.1": 10 + round,
        });
      }
      assert.deepEqual(
        instances.map((i) => i.total),
        [6, 33],
      );
      for (const i of instances) i.stop();
      await Promise.all(loops);
    } finally {
      await g.close();
    }
  });

  void it("worker:sum:100% fires once every worker sent sum; a failing handler is logged and the loop goes on", async () => {
    const g = await createGroup(3, { serveWorkers: false });
    const errors: string[] = [];
    const fired: Message[][] = [];
    try {
      const DistMaster = dist<Accumulator>(
        g.master,
        {
          "worker:sum:100%": (that: Accumulator, _proxy: Proxy, messages: Message[]) => {
            that.calls++;
            fired.push(messages);
            that.total += messages.reduce((a, m) => a + (m.payload as number), 0);
          },
          "*:boom:1": () => {
            throw new Error("handler exploded");
          },
        },
        { logger: recordingLogger(errors) },
      )(Accumulator);
      const master = new DistMaster();
      const loop = master.launch();
      const send = (w: Proxy, tag: string, payload: number) =>
        w.isend(new Message({ tag, source: w.name, destination: "master", payload }));
      await send(g.workers[0]!, "boom", 0);
      await send(g.workers[0]!, "sum", 1);
      await send(g.workers[1]!, "sum", 2);
      await waitFor(() => errors.length === 1, 5000, "the failing handler to be logged");
      assert.match(errors[0]!, /boom/);
      assert.match(errors[0]!, /handler exploded/);
      assert.equal(master.calls, 0, "2 of 3 workers is not 100%");
      await send(g.workers[2]!, "sum", 3);
      await waitFor(() => master.calls === 1, 5000, "the 100% event");
      assert.deepEqual(fired[0]!.map((m) => m.source).sort(), ["worker.0", "worker.1", "worker.2"]);
      assert.equal(master.total, 6);
      // A second round fires again: messages are consumed, never delivered twice.
      for (const [i, w] of g.workers.entries()) await send(w, "sum", 10 * (i + 1));
      await waitFor(() => master.calls === 2, 5000, "the second 100% event");
      assert.equal(master.total, 66);
      await g.master.close();
      await loop; // the loop ends when the proxy closes
    } finally {
      await g.close();
    }
  });
});
