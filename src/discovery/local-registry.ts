/**
 * The default registry for one machine: a directory per group under the per-user runtime directory, one
 * file per member. Liveness is a heartbeat (the file's mtime) plus the member's pid.
 * @module
 */
import { watch as fsWatch, type FSWatcher } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { ConfigError } from "../core/errors.ts";
import { InternalLogger, type LoggerLike } from "../core/logger.ts";
import { runtimeDir } from "../transport/addresses.ts";
import { MembershipWatcher } from "./membership-watcher.ts";
import type { HeartbeatOptions, MemberInfo, MembershipListener, Registry } from "./registry.ts";

/**
 * Options of {@link LocalRegistry}.
 * @example
 * ```ts
 * const options: LocalRegistryOptions = { dir: "/srv/weft/registry", heartbeatMs: 500 };
 * const registry = new LocalRegistry(options);
 * ```
 */
export interface LocalRegistryOptions extends HeartbeatOptions {
  /** Root directory of the registry. Default `<runtime dir>/registry` (per user, mode 0700). */
  dir?: string;
  /** Logger for heartbeat failures. */
  logger?: LoggerLike;
}

const SAFE = /^[A-Za-z0-9_.:@-]+$/;

function checkName(what: string, value: string): void {
  if (!SAFE.test(value) || value === "." || value === "..") {
    throw new ConfigError(`${what} ${JSON.stringify(value)} may only contain letters, digits and _ . : @ -`);
  }
}

/**
 * True when a process with `pid` exists on this machine.
 * @example
 * ```ts
 * pidAlive(process.pid); // true
 * ```
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Discovery through a local directory (the embedded default: nothing to install or start).
 *
 * @example
 * ```ts
 * const registry = new LocalRegistry({ heartbeatMs: 500 });
 * await registry.register({ group: "g", type: "worker", name: "worker.0", addresses, pid: process.pid,
 *   host: os.hostname(), meta: {}, incarnation: newId() });
 * ```
 */
export class LocalRegistry implements Registry {
  readonly kind = "local";
  readonly heartbeatMs: number;
  private readonly root: string;
  private readonly host = hostname();
  private readonly own = new Map<string, { member: MemberInfo; file: string; timer: NodeJS.Timeout }>();
  private readonly watchers = new Set<() => void>();
  private readonly log: LoggerLike;

  constructor(options: LocalRegistryOptions = {}) {
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    if (!(this.heartbeatMs > 0))
      throw new ConfigError("heartbeatMs must be a positive number of milliseconds");
    this.root = options.dir ?? join(runtimeDir(), "registry");
    this.log = options.logger ?? new InternalLogger("discovery.local");
  }

  private groupDir(group: string): string {
    checkName("group name", group);
    return join(this.root, group);
  }

  async register(member: MemberInfo): Promise<void> {
    checkName("component name", member.name);
    checkName("component type", member.type);
    const dir = this.groupDir(member.group);
    const file = join(dir, `${member.name}.json`);
    await this.writeEntry(dir, file, member);
    const previous = this.own.get(member.name);
    if (previous) clearInterval(previous.timer);
    const timer = setInterval(() => {
      const now = new Date();
      utimes(file, now, now).catch((err: unknown) => {
        // The file vanished (someone cleaned the directory): write it again.
        this.log.debug(`heartbeat of ${member.name} failed, re-registering: ${String(err)}`);
        this.writeEntry(dir, file, member).catch(() => {});
      });
    }, this.heartbeatMs);
    timer.unref();
    this.own.set(member.name, { member, file, timer });
  }

  /**
   * Writes a member's file atomically (temporary file, then rename). The group directory is created
   * first and again if it vanished meanwhile: the last member leaving a group removes the directory.
   */
  private async writeEntry(dir: string, file: string, member: MemberInfo): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.${member.incarnation}.tmp`;
        await writeFile(tmp, JSON.stringify(member), { mode: 0o600 });
        await rename(tmp, file);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 4) throw err;
      }
    }
  }

  async unregister(name: string): Promise<void> {
    const entry = this.own.get(name);
    if (!entry) return;
    clearInterval(entry.timer);
    this.own.delete(name);
    // Remove only our own incarnation: a restarted member may already have replaced the file.
    const current = await this.readMember(entry.file);
    if (current?.incarnation === entry.member.incarnation) await rm(entry.file, { force: true });
    // The last member out removes the group's directory (it fails, harmlessly, while others remain).
    await rmdir(dirname(entry.file)).catch(() => {});
  }

  private async readMember(file: string): Promise<(MemberInfo & { mtimeMs: number }) | undefined> {
    try {
      const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
      return { ...(JSON.parse(text) as MemberInfo), mtimeMs: st.mtimeMs };
    } catch {
      return undefined;
    }
  }

  private alive(member: MemberInfo & { mtimeMs: number }): boolean {
    if (Date.now() - member.mtimeMs > 3 * this.heartbeatMs) return false;
    return member.host !== this.host || pidAlive(member.pid);
  }

  async list(group: string): Promise<MemberInfo[]> {
    const dir = this.groupDir(group);
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith(".json"));
    } catch {
      return [];
    }
    const members = await Promise.all(files.map((f) => this.readMember(join(dir, f))));
    const live: MemberInfo[] = [];
    for (const m of members) {
      if (m === undefined) continue;
      if (this.alive(m)) {
        const { mtimeMs: _mtime, ...member } = m;
        live.push(member);
      }
    }
    return live.sort((a, b) => a.name.localeCompare(b.name));
  }

  async isAlive(member: MemberInfo): Promise<boolean> {
    const current = await this.readMember(join(this.groupDir(member.group), `${member.name}.json`));
    return current !== undefined && current.incarnation === member.incarnation && this.alive(current);
  }

  watch(group: string, listener: MembershipListener): () => void {
    const dir = this.groupDir(group);
    const watcher = new MembershipWatcher(
      () => this.list(group),
      this.heartbeatMs,
      listener,
      (err) => this.log.warn(`listing group ${group} failed: ${String(err)}`),
    );
    let fsw: FSWatcher | undefined;
    void mkdir(dir, { recursive: true, mode: 0o700 }).then(() => {
      if (stopped) return;
      try {
        fsw = fsWatch(dir, () => watcher.poke());
        fsw.on("error", () => {});
      } catch {
        // fs.watch is a hint only; polling still works.
      }
    });
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      watcher.stop();
      fsw?.close();
      this.watchers.delete(stop);
    };
    this.watchers.add(stop);
    return stop;
  }

  async close(): Promise<void> {
    for (const stop of [...this.watchers]) stop();
    await Promise.all([...this.own.keys()].map((name) => this.unregister(name)));
  }
}
