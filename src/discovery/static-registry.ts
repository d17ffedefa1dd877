/**
 * Discovery by hand: the addresses of the peers are given (as `ditask --attach-to` does).
 * @module
 */
import type { MemberInfo, MembershipListener, Registry } from "./registry.ts";

/**
 * A registry whose members are a fixed list plus whatever registers in this process.
 * Static members are assumed alive; a dead one is detected by the transport (socket disconnect).
 *
 * @example
 * ```ts
 * const registry = new StaticRegistry([{ group: "g", type: "learner", name: "learner",
 *   addresses: { unicast: "tcp://10.0.0.5:5555", broadcast: "tcp://10.0.0.5:5556" },
 *   pid: 0, host: "gpu-1", meta: {}, incarnation: "static" }]);
 * ```
 */
export class StaticRegistry implements Registry {
  readonly kind = "static";
  readonly heartbeatMs = 1000;
  private readonly members = new Map<string, MemberInfo>();
  private readonly listeners = new Set<{ group: string; fn: MembershipListener }>();

  constructor(members: readonly MemberInfo[] = []) {
    for (const m of members) this.members.set(`${m.group}/${m.name}`, m);
  }

  async register(member: MemberInfo): Promise<void> {
    this.members.set(`${member.group}/${member.name}`, member);
    for (const l of this.listeners) if (l.group === member.group) l.fn({ kind: "join", member });
  }

  async unregister(name: string): Promise<void> {
    for (const [key, m] of this.members) {
      if (m.name === name) {
        this.members.delete(key);
        for (const l of this.listeners) if (l.group === m.group) l.fn({ kind: "leave", member: m });
      }
    }
  }

  async list(group: string): Promise<MemberInfo[]> {
    return [...this.members.values()]
      .filter((m) => m.group === group)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async isAlive(member: MemberInfo): Promise<boolean> {
    return this.members.get(`${member.group}/${member.name}`)?.incarnation === member.incarnation;
  }

  watch(group: string, listener: MembershipListener): () => void {
    const entry = { group, fn: listener };
    this.listeners.add(entry);
    for (const m of this.members.values()) if (m.group === group) listener({ kind: "join", member: m });
    return () => this.listeners.delete(entry);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
