/**
 * `dist`: turns a local class into a distributed worker driven by conditional events.
 * @module
 */
import type { LoggerLike } from "../core/logger.ts";
import { InternalLogger } from "../core/logger.ts";
import type { Message } from "../core/message.ts";
import type { ConditionalEvent } from "./conditional-event.ts";
import type { Proxy } from "./proxy.ts";
import { RegisterTable } from "./register-table.ts";

/**
 * Handler of a conditional event: the instance, the proxy, and the messages that satisfied the event.
 * @example
 * ```ts
 * class Worker { total = 0; }
 * const onSum: DistHandler<Worker> = async (that, proxy, [msg]) => {
 *   that.total += 1;
 *   await proxy.reply(msg!, { payload: that.total });
 * };
 * const DistWorker = dist(proxy, { "master:sum:1": onSum })(Worker);
 * ```
 */
export type DistHandler<T> = (that: T, proxy: Proxy, messages: Message[]) => unknown;

/**
 * Methods `dist` adds to instances.
 * @example
 * ```ts
 * const worker = new DistWorker(); // has launch() and stop() from Distributed
 * const running = worker.launch();
 * // … later
 * worker.stop();
 * await running;
 * ```
 */
export interface Distributed {
  /** Receives messages and dispatches satisfied events until `stop()` or the proxy closes. */
  launch(): Promise<void>;
  /** Ends the dispatch loop after the current handler. */
  stop(): void;
}

/**
 * Wraps `Base` so that its instances dispatch the proxy's incoming messages to `handlers`, keyed by
 * conditional event (see RegisterTable). Handlers may be async; a handler error is logged with its event
 * and the loop goes on.
 *
 * @example
 * ```ts
 * class Worker { total = 0; }
 * const DistWorker = dist(proxy, {
 *   "master:sum:1": async (that, proxy, [msg]) => { await proxy.reply(msg!, { payload: 42 }); },
 * })(Worker);
 * const w = new DistWorker();
 * await w.launch(); // until w.stop() or proxy.close()
 * ```
 */
export function dist<T extends object>(
  proxy: Proxy,
  handlers: Record<string, DistHandler<T>> | [ConditionalEvent, DistHandler<T>][],
  options: { logger?: LoggerLike } = {},
) {
  const log = options.logger ?? new InternalLogger(`dist.${proxy.name}`);
  const entries: [ConditionalEvent, DistHandler<T>][] = Array.isArray(handlers)
    ? handlers
    : Object.entries(handlers);
  return <C extends new (...args: any[]) => T>(Base: C): C & (new (...args: any[]) => T & Distributed) =>
    class extends (Base as new (...args: any[]) => object) implements Distributed {
      private distStopped = false;
      private distAbort = new AbortController();

      async launch(): Promise<void> {
        const table = new RegisterTable(proxy);
        const names = new Map<DistHandler<T>, string>();
        for (const [event, handler] of entries) {
          const wrapped = handler;
          names.set(wrapped, JSON.stringify(event));
          table.registerEventHandler(event, wrapped as never);
        }
        const messages = proxy.receive();
        const stopped = new Promise<void>((resolve) =>
          this.distAbort.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        while (!this.distStopped) {
          const next = await Promise.race([messages.next(), stopped.then(() => undefined)]);
          if (next === undefined || next.done) break;
          table.push(next.value);
          for (const [handler, msgs] of table.get()) {
            try {
              await (handler as unknown as DistHandler<T>)(this as unknown as T, proxy, msgs);
            } catch (err) {
              log.error(
                `handler of event ${names.get(handler as unknown as DistHandler<T>) ?? "?"} failed: ${String(err)}`,
              );
            }
          }
        }
      }

      stop(): void {
        this.distStopped = true;
        this.distAbort.abort();
      }
    } as unknown as C & (new (...args: any[]) => T & Distributed);
}
