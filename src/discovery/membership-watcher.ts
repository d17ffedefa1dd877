/**
 * Turns successive member lists into join and leave events. Registries poll `list()` every heartbeat (and
 * sooner when they get a hint that something changed) and feed the result here.
 * @module
 */
import { memberKey, type MemberInfo, type MembershipListener } from "./registry.ts";

/**
 * Watches one group by polling a lister.
 * @example
 * ```ts
 * const watcher = new MembershipWatcher(() => registry.list("g"), 1000, listener, onError);
 * watcher.poke(); // re-list now
 * watcher.stop();
 * ```
 */
export class MembershipWatcher {
  private known = new Map<string, MemberInfo>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly lister: () => Promise<MemberInfo[]>,
    private readonly intervalMs: number,
    private readonly listener: MembershipListener,
    private readonly onError: (err: unknown) => void,
  ) {
    this.poke();
  }

  /** Re-lists as soon as possible (coalesces bursts of pokes). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    void this.tick();
  }

  private async tick(): Promise<void> {
    this.running = true;
    try {
      const members = await this.lister();
      if (this.stopped) return;
      const next = new Map(members.map((m) => [memberKey(m), m]));
      for (const [key, member] of this.known) {
        if (!next.has(key)) this.listener({ kind: "leave", member });
      }
      for (const [key, member] of next) {
        if (!this.known.has(key)) this.listener({ kind: "join", member });
      }
      this.known = next;
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = false;
      if (!this.stopped) {
        if (this.again) {
          this.again = false;
          this.poke();
        } else {
          this.timer = setTimeout(() => void this.tick(), this.intervalMs);
          this.timer.unref();
        }
      }
    }
  }

  /** Stops polling. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
