/**
 * Discovery: how the members of a group find each other.
 *
 * A {@link Registry} registers a member, lists the live members of a group, and reports joins and leaves.
 * Dead members (stopped heartbeats, dead pid) are never listed.
 * @module
 */

/**
 * One registered member of a group.
 * @example
 * ```ts
 * const member: MemberInfo = {
 *   group: "job",
 *   type: "worker",
 *   name: "worker.0",
 *   addresses: { unicast: "tcp://127.0.0.1:5000", broadcast: "tcp://127.0.0.1:5001" },
 *   pid: process.pid,
 *   host: os.hostname(),
 *   meta: {},
 *   incarnation: newId(),
 * };
 * await registry.register(member);
 * ```
 */
export interface MemberInfo {
  /** Group (job) the member belongs to. */
  group: string;
  /** Component type, e.g. `"worker"`. */
  type: string;
  /** Component name, unique in the group, e.g. `"worker.0"`. */
  name: string;
  /** Endpoints the member bound, by purpose, e.g. `{ unicast: "tcp://127.0.0.1:5000" }`. */
  addresses: Record<string, string>;
  /** Process id. */
  pid: number;
  /** Host name of the member's machine. */
  host: string;
  /** Extra facts other members need, e.g. the CURVE public key. */
  meta: Record<string, unknown>;
  /** Unique per registration: a restarted member with the same name has a new incarnation. */
  incarnation: string;
}

/**
 * A change in a group's membership.
 * @example
 * ```ts
 * registry.watch("job", (event: MembershipEvent) => {
 *   if (event.kind === "leave") console.warn(`${event.member.name} left`);
 * });
 * ```
 */
export interface MembershipEvent {
  kind: "join" | "leave";
  member: MemberInfo;
}

/**
 * Listener of {@link Registry.watch}.
 * @example
 * ```ts
 * const listener: MembershipListener = (e) => console.log(e.kind, e.member.name);
 * const stop = registry.watch("job", listener);
 * stop();
 * ```
 */
export type MembershipListener = (event: MembershipEvent) => void;

/**
 * Timing shared by every registry.
 * @example
 * ```ts
 * const heartbeat: HeartbeatOptions = { heartbeatMs: 250 }; // dead after 750 ms without a beat
 * const registry = new LocalRegistry(heartbeat);
 * ```
 */
export interface HeartbeatOptions {
  /** Interval of heartbeats, in ms. Default 1000. A member is dead after 3 missed beats. */
  heartbeatMs?: number;
}

/**
 * The discovery service interface.
 *
 * @example
 * ```ts
 * const registry = await createRegistry({ type: "local" });
 * await registry.register(member);
 * const members = await registry.list("my-group");
 * const stop = registry.watch("my-group", (e) => console.log(e.kind, e.member.name));
 * ```
 */
export interface Registry {
  /** `"local"`, `"redis"` or `"static"`. */
  readonly kind: string;
  /** Heartbeat interval in ms; members are dead after `3 × heartbeatMs` without one. */
  readonly heartbeatMs: number;
  /** Registers `member` and keeps it alive with heartbeats until `unregister` or `close`. */
  register(member: MemberInfo): Promise<void>;
  /** Removes a member this registry registered. */
  unregister(name: string): Promise<void>;
  /** Live members of `group`. */
  list(group: string): Promise<MemberInfo[]>;
  /** True when `member` (this incarnation) is still alive. */
  isAlive(member: MemberInfo): Promise<boolean>;
  /** Calls `listener` on every join and leave in `group`; returns a function that stops watching. */
  watch(group: string, listener: MembershipListener): () => void;
  /** Stops heartbeats and watches, removes registered members, releases connections. */
  close(): Promise<void>;
}

/**
 * Key identifying one incarnation of a member.
 * @example
 * ```ts
 * const seen = new Set((await registry.list("job")).map(memberKey)); // e.g. "worker.0@<incarnation>"
 * ```
 */
export function memberKey(member: MemberInfo): string {
  return `${member.name}@${member.incarnation}`;
}
