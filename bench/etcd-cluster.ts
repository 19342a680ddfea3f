// A local etcd cluster for bench/vs-etcd.ts: finds (or installs, Debian's etcd-server) the etcd
// binary, starts `n` members on free loopback ports with their data under a directory, and stops,
// restarts or kills them. Logs go to <dir>/<member>.log (the tail is printed when a member fails).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePorts } from '../test/helpers/free-ports.ts';
import { EtcdClient } from './etcd-grpc.ts';

/** How long a member may take to stop after SIGTERM before it is killed, ms. */
export const ETCD_STOP_TIMEOUT_MS = 10_000;

/** The etcd binary to run and the version it prints, or why there is none. */
export type EtcdBinary = { bin: string; version: string } | { missing: string };

function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter).filter((x) => x !== '')) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The etcd binary: BENCH_ETCD, else `etcd` on PATH, else installed with `apt-get install -y
 * etcd-server` when running as root with apt-get and `install` allows it.
 */
export function ensureEtcd(install: { allowed: boolean; why?: string; timeoutMs: number }): EtcdBinary {
  let bin = process.env.BENCH_ETCD ?? onPath('etcd');
  if (bin === undefined) {
    if (!install.allowed) return { missing: `etcd is not on PATH and ${install.why ?? 'installing it is not allowed'}` };
    const why = installEtcd(install.timeoutMs);
    if (why !== undefined) return { missing: why };
    bin = onPath('etcd');
    if (bin === undefined) return { missing: 'apt-get installed etcd-server but no etcd binary is on PATH' };
  }
  const v = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const version = /etcd Version:\s*(\S+)/.exec(v.stdout ?? '')?.[1];
  if (version === undefined) return { missing: `${bin} --version printed no version (${(v.stderr ?? v.error?.message ?? '').trim().slice(0, 200)})` };
  return { bin, version };
}

// Undefined when installed; otherwise why not.
function installEtcd(timeoutMs: number): string | undefined {
  if (process.getuid?.() !== 0) return 'etcd is not on PATH and installing etcd-server needs root (apt-get install -y etcd-server)';
  const aptGet = onPath('apt-get');
  if (aptGet === undefined) return 'etcd is not on PATH and there is no apt-get to install etcd-server with';
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // One budget for everything apt-get does here.
  const deadline = Date.now() + timeoutMs;
  const apt = (args: string[]): ReturnType<typeof spawnSync> => spawnSync(aptGet, args, { encoding: 'utf8', timeout: Math.max(1, deadline - Date.now()), env });
  console.log(`etcd is not on PATH: apt-get install -y etcd-server (giving it ${Math.round(timeoutMs / 1000)} s) ...`);
  let r = apt(['install', '-y', '-q', 'etcd-server']);
  if (r.status !== 0 && Date.now() < deadline) {
    // A fresh image may have no package lists yet.
    apt(['update', '-q']);
    if (Date.now() < deadline) r = apt(['install', '-y', '-q', 'etcd-server']);
  }
  if (r.status !== 0) return `apt-get install -y etcd-server failed (${r.error?.message ?? `exit ${r.status}`}): ${String(r.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`;
  return undefined;
}

/** One member: its URLs, data directory, process (while running) and client. */
export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  proc: ChildProcess | undefined;
  client: EtcdClient;
}

/** `n` etcd members on loopback, one cluster. */
export class EtcdCluster {
  readonly bin: string;
  readonly members: EtcdMember[];
  readonly #initialCluster: string;
  readonly #token: string;

  private constructor(bin: string, members: EtcdMember[], token: string) {
    this.bin = bin;
    this.members = members;
    this.#initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    this.#token = token;
  }

  /** `n` members with data under `dir`, on free ports, not started yet (start(), then ready()). */
  static async create(bin: string, dir: string, n = 3): Promise<EtcdCluster> {
    const ports = await freePorts(2 * n);
    const members = Array.from({ length: n }, (_, i): EtcdMember => {
      const clientUrl = `http://127.0.0.1:${ports[2 * i]}`;
      return {
        name: `etcd-${i}`, clientUrl, peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`, dataDir: join(dir, `etcd-${i}`),
        logFile: join(dir, `etcd-${i}.log`), proc: undefined, client: new EtcdClient(clientUrl),
      };
    });
    return new EtcdCluster(bin, members, `bench-${process.pid}-${ports[0]}`);
  }

  /** Spawn every member's process. */
  start(): void {
    for (const m of this.members) this.spawn(m);
  }

  /** Start (or restart, on its existing data) one member's process. */
  spawn(m: EtcdMember): void {
    mkdirSync(m.dataDir, { recursive: true, mode: 0o700 });
    const log = openSync(m.logFile, 'a');
    // etcd's defaults otherwise: fsync on every WAL write, snapshots every 100,000 entries.
    const args = [
      '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.#initialCluster, '--initial-cluster-token', this.#token, '--initial-cluster-state', 'new',
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
    ];
    const p = spawn(this.bin, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    p.on('error', () => undefined); // reported through exit / readiness
    m.proc = p;
  }

  /** Wait until every running member answers Status with a leader. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await Promise.all(this.members.filter((m) => m.proc !== undefined).map((m) => m.client.status(1_000).then((s) => s.leader !== 0n, () => false)));
      if (ok.every(Boolean)) return;
      const dead = this.members.find((m) => m.proc !== undefined && m.proc.exitCode !== null);
      if (dead !== undefined || Date.now() > deadline) {
        throw new Error(`etcd ${dead === undefined ? 'members have no leader' : `${dead.name} exited (${dead.proc!.exitCode})`} after ${timeoutMs} ms; ` +
          `log tail of ${(dead ?? this.members[0]!).name}: ${this.logTail(dead ?? this.members[0]!)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The index of the member that is leader now. */
  async leaderIndex(): Promise<number> {
    const st = await Promise.all(this.members.map((m) => m.client.status()));
    const i = st.findIndex((s) => s.memberId === s.leader);
    if (i < 0) throw new Error('etcd: no member is leader');
    return i;
  }

  /** Process IDs of the running members. */
  pids(): number[] {
    return this.members.flatMap((m) => (m.proc?.pid === undefined || m.proc.exitCode !== null ? [] : [m.proc.pid]));
  }

  /** Stop one member (SIGTERM, SIGKILL after ETCD_STOP_TIMEOUT_MS) and wait for its exit. */
  stopMember(m: EtcdMember): Promise<void> {
    return this.#end(m, 'SIGTERM');
  }

  async #end(m: EtcdMember, signal: NodeJS.Signals): Promise<void> {
    m.client.close();
    const p = m.proc;
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) {
      m.proc = undefined;
      return;
    }
    // m.proc is kept until it has exited: killNow (on exit or a signal meanwhile) still reaches it.
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    const timer = setTimeout(() => p.kill('SIGKILL'), ETCD_STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    if (m.proc === p) m.proc = undefined;
  }

  /**
   * End every member with SIGKILL and wait for their exits: for a cluster whose data is thrown away
   * (a graceful stop of all three takes etcd seconds, transferring leadership as members go).
   */
  async kill(): Promise<void> {
    await Promise.all(this.members.map((m) => this.#end(m, 'SIGKILL')));
  }

  /** Kill every member now (synchronous: for exit and signal handlers). */
  killNow(): void {
    for (const m of this.members) {
      m.client.close();
      if (m.proc !== undefined && m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL');
    }
  }

  /** The last lines of a member's log. */
  logTail(m: EtcdMember): string {
    if (!existsSync(m.logFile)) return '(no log)';
    return readFileSync(m.logFile, 'utf8').trim().split('\n').slice(-5).join(' | ').slice(-1500);
  }
}
