// Shared set-up of the multi-process benchmarks: a federation's keys and certificates on disk,
// controllers forked as bench/controller-process.ts, and a request/answer helper over their IPC.
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemberRole } from '../membership/member-name.ts';
import { freePorts } from '../test/helpers/free-ports.ts';
import type { TestFederation } from '../test/helpers/cert-fixtures.ts';
import { writePki } from '../test/helpers/pki-files.ts';
import { sized } from './smoke.ts';

/** One member with its files and a free loopback port. */
export interface BenchMember {
  name: string;
  role: MemberRole;
  peerId: string;
  port: number;
  listen: string;
  addr: string;
  keyFile: string;
  certificateFile: string;
}

/** A federation's files: one CA per role and every member. */
export interface BenchPki {
  federationId: string;
  /** The federation's CAs (in memory): to issue more certificates, e.g. an operator's. */
  fed: TestFederation;
  controllerCaFiles: string[];
  agentCaFiles: string[];
  members: BenchMember[];
}

/** Keys, certificates and ports for `controllers` and `agents`, under `dir`. */
export async function benchPki(dir: string, federationId: string, controllers: string[], agents: string[] = []): Promise<BenchPki> {
  const spec = [...controllers.map((name) => ({ name, role: 'controller' as const })), ...agents.map((name) => ({ name, role: 'agent' as const }))];
  const files = await writePki(dir, federationId, spec);
  const ports = await freePorts(spec.length);
  const members: BenchMember[] = [];
  for (const [i, { name }] of spec.entries()) {
    const f = files.members.get(name)!;
    const port = ports[i]!;
    const listen = `/ip4/127.0.0.1/tcp/${port}`;
    members.push({ ...f, port, listen, addr: `${listen}/p2p/${f.peerId}` });
  }
  return { federationId, fed: files.fed, controllerCaFiles: [files.controllerCaFile], agentCaFiles: [files.agentCaFile], members };
}

/** The membership part of a member's configuration. */
export function benchMembership(pki: BenchPki, m: BenchMember, bootstrap: string[], over: object = {}): object {
  return {
    federationId: pki.federationId, memberName: m.name, role: m.role, region: m.name, listen: [m.listen], bootstrap,
    keyFile: m.keyFile, certificateFile: m.certificateFile, controllerCaFiles: pki.controllerCaFiles, agentCaFiles: pki.agentCaFiles, ...over,
  };
}

/** Forked processes answering `{ cmd }` messages with a message of the same `cmd` (or `error`). */
export class BenchProcs {
  readonly procs = new Map<string, ChildProcess>();

  /**
   * Fork `script` with a JSON config file written under `dir`; resolves once it reports started.
   * `nodeArgs` are more Node flags for this process (e.g. --expose-gc).
   */
  async start(name: string, script: string, dir: string, config: unknown, env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<void> {
    const cfgPath = join(dir, `${name}.json`);
    writeFileSync(cfgPath, JSON.stringify(config));
    // BENCH_PROF=<dir> writes a CPU profile per process; BENCH_NODE_ARGS adds flags (e.g. --trace-gc).
    const execArgv = [
      ...(process.env.BENCH_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`]),
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
      ...nodeArgs,
    ];
    const p = fork(fileURLToPath(new URL(script, import.meta.url)), [cfgPath], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv, env: { ...process.env, ...env } });
    this.procs.set(name, p);
    await new Promise((resolve, reject) => {
      p.once('message', resolve);
      p.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it started`)));
    });
  }

  /** Send a command and wait for its answer. */
  ask(name: string, msg: { cmd: string; [k: string]: unknown }): Promise<any> {
    const p = this.procs.get(name);
    if (p === undefined) throw new Error(`no process ${name}`);
    return new Promise((resolve, reject) => {
      const done = (): void => { p.off('message', on); p.off('exit', exited); };
      const on = (m: any): void => {
        if (m.cmd === 'error') { done(); reject(new Error(`${name}: ${m.message}`)); }
        else if (m.cmd === msg.cmd) { done(); resolve(m); }
      };
      // A process that exits (asked to stop, or crashed) answers nothing more.
      const exited = (code: number | null): void => { done(); reject(new Error(`${name} exited (${code}) before answering ${msg.cmd}`)); };
      p.on('message', on);
      p.once('exit', exited);
      // A process exiting meanwhile closes the channel: the send fails instead of being answered.
      p.send(msg, (err) => { if (err !== null) { done(); reject(err); } });
    });
  }

  /** Poll `cond` over the processes every 100 ms until it holds, or fail after `timeoutMs`. */
  async until(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Wait until every named process has been mostly idle (event loop busy less than `busyMax`) for two
   * polls a second apart: start-up work (connections, catch-up, first heartbeats) must not land in
   * the measurements. Gives up after `timeoutMs` and says so. A smoke run polls faster and gives up
   * sooner (its figures only show that the code runs).
   */
  async quiet(names: string[], busyMax = 0.25, timeoutMs = sized(60_000, 2_000)): Promise<string> {
    const pollMs = sized(1_000, 200);
    const t0 = performance.now();
    let calm = 0;
    let last: number[] = [];
    await Promise.all(names.map((n) => this.ask(n, { cmd: 'busy' })));
    while (performance.now() - t0 < timeoutMs) {
      await new Promise((r) => setTimeout(r, pollMs));
      last = (await Promise.all(names.map((n) => this.ask(n, { cmd: 'busy' })))).map((r) => r.utilization);
      calm = last.every((u) => u < busyMax) ? calm + 1 : 0;
      if (calm >= 2) return `quiet after ${((performance.now() - t0) / 1000).toFixed(0)} s (event loops busy ${last.map((u) => `${(u * 100).toFixed(0)}%`).join('/')})`;
    }
    return `NOT quiet after ${(timeoutMs / 1000).toFixed(0)} s (event loops busy ${last.map((u) => `${(u * 100).toFixed(0)}%`).join('/')}): figures include start-up work`;
  }

  /** Ask every process still running to stop. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.entries()].filter(([, p]) => p.connected && p.exitCode === null && p.signalCode === null)
      .map(([n]) => this.ask(n, { cmd: 'stop' }).catch(() => undefined)));
  }
}

/**
 * For a benchmark child process: each call returns the event-loop utilisation since the previous
 * call and the process's CPU time so far, all of it and the kernel's part (BenchProcs.quiet waits on
 * the first; figures use the others).
 */
export function busyMeter(): () => { utilization: number; cpuMs: number; systemMs: number; mainThreadMs: number } {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const cpu = process.cpuUsage();
    // systemMs: the part spent in the kernel (socket writes and reads, fsync), every thread;
    // mainThreadMs: the main thread's alone (the rest is libuv's pool: LevelDB, fsync; and GC helpers).
    return { utilization, cpuMs: (cpu.user + cpu.system) / 1000, systemMs: cpu.system / 1000, mainThreadMs: mainThreadCpuMs() };
  };
}

/** CPU time of this process's main thread so far, ms (Linux /proc; NaN elsewhere). Resolution: one clock tick. */
function mainThreadCpuMs(): number {
  try {
    const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSecond(); // utime (14th), stime (15th)
  } catch {
    return NaN;
  }
}

/** The p-th percentile of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** The machine's CPU times so far, in /proc/stat's order (user nice system idle iowait irq softirq steal …); undefined without it. */
function readProcStat(): number[] | undefined {
  try {
    return readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  } catch {
    return undefined;
  }
}

/**
 * The machine's CPU time split from now until the returned function is called (Linux /proc/stat):
 * on a virtual machine, `steal` is time the hypervisor gave to other guests. Figures taken while it
 * is high say more about the host than about the code. Undefined where /proc/stat is missing.
 */
export function machineCpu(): () => string | undefined {
  const read = readProcStat;
  const start = read();
  return () => {
    const end = read();
    if (start === undefined || end === undefined) return undefined;
    const d = end.map((v, i) => v - (start[i] ?? 0));
    const total = d.reduce((a, b) => a + b, 0) || 1;
    const pct = (i: number): string => `${((100 * (d[i] ?? 0)) / total).toFixed(0)}%`;
    // Fields: user nice system idle iowait irq softirq steal.
    // Niced work counts apart: a nice-19 background job still takes the CPU a system under test
    // leaves idle while it waits on fsync or the network, and slows it (caches, scheduling).
    return `machine CPU: user ${pct(0)}, system ${pct(2)}, idle ${pct(3)}, niced ${pct(1)}, stolen by the hypervisor ${pct(7)}`;
  };
}

/** Clock ticks per second of /proc/stat (USER_HZ), read once. */
let clockTicks: number | undefined;
function ticksPerSecond(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  return clockTicks;
}

/** How the machine's CPU went while something was measured, shares of all its CPUs, %. */
export interface MachineShares {
  /** Time the hypervisor gave to other guests. */
  stolenPct: number;
  /** Niced processes (the simulation sweep at nice 19: it takes idle CPU only). */
  nicedPct: number;
  /** Not niced processes other than the measured ones: what competed with them. */
  othersPct: number;
  idlePct: number;
}

/**
 * The machine's CPU split from now until the returned function is called with the CPU the measured
 * processes took meanwhile (ms); undefined where /proc/stat is missing. Unlike machineCpu it tells
 * the measured processes from other not-niced work, the load that competed with them.
 */
export function machineShares(): (measuredCpuMs: number) => MachineShares | undefined {
  const read = readProcStat;
  const start = read();
  return (measuredCpuMs) => {
    const end = read();
    if (start === undefined || end === undefined) return undefined;
    // Fields: user nice system idle iowait irq softirq steal (guest time is inside user and nice).
    const d = end.slice(0, 8).map((v, i) => v - (start[i] ?? 0));
    const total = d.reduce((a, b) => a + b, 0) || 1;
    const pct = (ticks: number): number => (100 * Math.max(0, ticks)) / total;
    const busyNotNiced = (d[0] ?? 0) + (d[2] ?? 0) + (d[5] ?? 0) + (d[6] ?? 0);
    return {
      stolenPct: pct(d[7] ?? 0), nicedPct: pct(d[1] ?? 0), idlePct: pct((d[3] ?? 0) + (d[4] ?? 0)),
      othersPct: pct(busyNotNiced - (measuredCpuMs * ticksPerSecond()) / 1000),
    };
  };
}

/** A bench child's command: the fields of its answer (sent back under the same `cmd`). */
export type BenchCommand = (m: { cmd: string; [k: string]: any }) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;

/**
 * The child's half of BenchProcs: answers each `{ cmd }` message from the parent with `{ cmd, ...answer }`
 * (or `{ cmd: 'error', message }` when it throws). Every child answers `busy` (busyMeter, plus
 * `busyExtra`'s fields) and `profile` (a CPU profile of a stretch with `profiler`: `{ action: 'start' }`,
 * then `{ action: 'stop', path }`); `stop` is answered, then the process exits.
 */
export function serveBenchCommands(
  commands: Record<string, BenchCommand> & { stop: BenchCommand },
  opts: { busyExtra?: () => Record<string, unknown>; profiler?: ReturnType<typeof stretchProfiler> } = {},
): void {
  const send = (m: unknown): void => { process.send!(m); };
  const busy = busyMeter();
  const profiler = opts.profiler ?? stretchProfiler();
  const all: Record<string, BenchCommand> = {
    busy: () => ({ ...busy(), ...opts.busyExtra?.() }),
    profile: async (m) => {
      if (m.action === 'start') await profiler.start(); else await profiler.stop(m.path);
    },
    ...commands,
  };
  process.on('message', async (m: { cmd: string; [k: string]: any }) => {
    try {
      const command = all[m.cmd];
      if (command === undefined) throw new Error(`unknown command ${m.cmd}`);
      send({ ...(await command(m) ?? {}), cmd: m.cmd });
      if (m.cmd === 'stop') process.exit(0);
    } catch (err) {
      send({ cmd: 'error', message: (err as Error).stack ?? String(err) });
    }
  });
}

/**
 * For a benchmark child process: a CPU profile of a chosen stretch (what `--cpu-prof` cannot do: it
 * covers the whole process, start-up included). `start()`, then `stop(path)` writes a .cpuprofile
 * (Chrome DevTools format; bench/profile-top.ts summarises it).
 */
export function stretchProfiler(): { start(): Promise<void>; stop(path: string): Promise<void> } {
  let session: import('node:inspector/promises').Session | undefined;
  return {
    async start() {
      const { Session } = await import('node:inspector/promises');
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
    },
    async stop(path) {
      if (session === undefined) throw new Error('profiler not started');
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = undefined;
      writeFileSync(path, JSON.stringify(profile));
    },
  };
}
