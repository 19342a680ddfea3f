// Fencing benchmark (prints figures; not a test). Two kinds of cut of controller c from a and b:
//
//  1. Connection resets: 3 controllers in this process with the fast profile (heartbeat interval
//     200 ms); c's connections are aborted and its dials refused (ControllerNode.cutLink). Prints
//     the time from the cut until c refuses writes, and from the heal until it accepts them again.
//  2. Silent drops: 3 controller daemons (`novaedge`, the tests' fast YAML: health check 200 ms /
//     100 ms / 3), each in its own network namespace; the cut is iptables DROP of every packet
//     between c and the others (no reset, no error: packets vanish). While it lasts a writer drives
//     `local` writes on c at a steady rate. Per cut length, prints the time from the cut until c's
//     first FENCED write, the `local` writes c acknowledged in between (the minority's window), and
//     the time from the heal until c accepts writes again. The bound beside them is the design's:
//     a silent peer counts as reached for one contact window, failureThreshold x interval + timeout
//     (docs/configuration.md, "The contact window"), and a heal un-fences within 2 s.
//     Needs root; installs iproute2 and iptables with apt-get when missing.
//
//   npm run bench:fencing        BENCH_ROUNDS=5  BENCH_SILENT_CUTS_MS=2000,4500,9500,14000
//                                BENCH_WRITE_INTERVAL_MS=20  BENCH_SILENT=off (resets only)
//   BENCH_SMOKE=1: both kinds, one round, one 1 s silent cut (bench/smoke.ts).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { healthContactWindowMs } from '../membership/link-liveness.ts';
import { FAST_PROFILE } from '../node/config/membership-config.ts';
import { ControllerNode } from '../node/controller/controller-node.ts';
import { makeFederation } from '../test/helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../test/helpers/cluster.ts';
import { startLabControllers, type LabControllers } from '../test/helpers/lab-controllers.ts';
import { labUnavailable } from '../test/helpers/netns-lab.ts';
import { envNumber, envString } from './smoke.ts';

const rounds = envNumber('BENCH_ROUNDS', 5, 1);
const silentCutsMs = envString('BENCH_SILENT_CUTS_MS', '2000,4500,9500,14000', '1000').split(',').map(Number);
const writeIntervalMs = envNumber('BENCH_WRITE_INTERVAL_MS', 20, 20);
const HEAL_TARGET_MS = 2_000;
// The daemons' health check (test/helpers/daemon-config.ts) and its contact window.
const LAB_HEALTH = { intervalMs: 200, timeoutMs: 100, failureThreshold: 3 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const until = async (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<number> => {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await sleep(1);
  }
  return performance.now() - t0;
};
const sorted = (xs: number[]): number[] => [...xs].sort((x, y) => x - y);
const fmt = (xs: number[], unit = ' ms', digits = 1): string => {
  const s = sorted(xs);
  return `min ${s[0]!.toFixed(digits)} / median ${s[Math.floor(s.length / 2)]!.toFixed(digits)} / max ${s[s.length - 1]!.toFixed(digits)}${unit}`;
};

// ---- 1. connection resets, in process ---------------------------------------------------------

async function resetCuts(): Promise<void> {
  const fed = await makeFederation('fence-bench');
  const NAMES = ['a', 'b', 'c'];
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = mkdtempSync(join(tmpdir(), 'novaedge-bench-fence-'));
  const nodes = await Promise.all(plan.map((m) => ControllerNode.start({
    membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
    replication: { dataDir: join(dir, m.name), controllers: NAMES },
  }, { membershipProfile: FAST_PROFILE })));
  const [a, b, c] = nodes as [ControllerNode, ControllerNode, ControllerNode];
  const fenced = (): boolean => c.fence.tally().haveQuorum === false;
  await until('all connected', () => nodes.every((n) => n.fence.reachable().length === 3));
  const cut: number[] = [];
  const heal: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await Promise.all([c.cutLink('a'), c.cutLink('b'), a.cutLink('c'), b.cutLink('c')]);
    await until('fenced', fenced);
    cut.push(performance.now() - t0);
    const t1 = performance.now();
    for (const [x, y] of [[c, 'a'], [c, 'b'], [a, 'c'], [b, 'c']] as const) x.restoreLink(y);
    await until('unfenced', () => !fenced());
    heal.push(performance.now() - t1);
    await until('settled', () => nodes.every((n) => n.fence.reachable().length === 3));
  }
  console.log('connection resets (in process, fast profile):');
  console.log(`  cut -> minority fenced (${rounds} rounds): ${fmt(cut)}  (target <= 400 ms)`);
  console.log(`  heal -> unfenced (${rounds} rounds): ${fmt(heal)}  (target <= ${HEAL_TARGET_MS} ms)`);
  for (const n of nodes) await n.stop();
  rmSync(dir, { recursive: true, force: true });
}

// ---- 2. silent drops, daemons in network namespaces -------------------------------------------

interface WriteSample {
  startMs: number;
  result: string;
}

/** Writes on `name` one after another, one per writeIntervalMs at most, until stopped. */
function steadyWriter(lc: LabControllers, name: string): { samples: WriteSample[]; stop(): Promise<void> } {
  const samples: WriteSample[] = [];
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const startMs = performance.now();
      const result = await lc.write(name, `bench-${name}-${n++}`).catch((err: unknown) => `error: ${String(err)}`);
      samples.push({ startMs, result });
      await sleep(Math.max(0, writeIntervalMs - (performance.now() - startMs)));
    }
  })();
  return { samples, stop: async () => { running = false; await loop; } };
}

function ensureLabTools(): string | undefined {
  if (process.getuid?.() === 0 && labUnavailable() !== undefined) {
    console.log('installing iproute2 and iptables (apt-get) for the silent-drop lab...');
    spawnSync('apt-get', ['install', '-y', 'iproute2', 'iptables'], { stdio: 'ignore' });
    if (labUnavailable() !== undefined) spawnSync('sh', ['-c', 'apt-get update && apt-get install -y iproute2 iptables'], { stdio: 'ignore' });
  }
  return labUnavailable();
}

async function silentCuts(): Promise<void> {
  const why = ensureLabTools();
  if (why !== undefined) {
    console.log(`silent drops: skipped (${why})`);
    return;
  }
  const teardowns: Array<() => unknown> = [];
  const windowMs = healthContactWindowMs(LAB_HEALTH);
  try {
    const lc = await startLabControllers({ teardown: (fn) => teardowns.push(fn) }, ['a', 'b', 'c'], 'fence-bench-silent');
    const reachAll = async (): Promise<boolean> => {
      for (const n of lc.names) if ((await lc.status(n)).quorum.reachablePeers !== '2/2') return false;
      return true;
    };
    const rows: Array<{ cutMs: number; fenceMs: number; ruleMs: number; acked: number; refused: number; healMs: number; ratePerS: number }> = [];
    for (const cutMs of silentCutsMs) {
      for (let r = 0; r < rounds; r++) {
        await until('settled before the cut', reachAll, 30_000);
        const writer = steadyWriter(lc, 'c');
        await sleep(200); // the writer is at its pace before the cut
        const cut = await lc.lab.isolate('c', ['a', 'b']);
        const cutAt = cut.endMs;
        await until('c fenced', () => writer.samples.some((s) => s.startMs >= cutAt && s.result === 'FENCED'), 30_000);
        const firstFenced = writer.samples.find((s) => s.startMs >= cutAt && s.result === 'FENCED')!;
        await sleep(Math.max(0, cutMs - (performance.now() - cutAt)));
        const healAt = await lc.lab.rejoin('c', ['a', 'b']);
        await until('c accepts writes', () => writer.samples.some((s) => s.startMs >= healAt && s.result === 'ok'), 60_000);
        await writer.stop();
        const firstOk = writer.samples.find((s) => s.startMs >= healAt && s.result === 'ok')!;
        rows.push({
          cutMs,
          fenceMs: firstFenced.startMs - cutAt,
          ruleMs: cut.endMs - cut.startMs,
          acked: writer.samples.filter((s) => s.startMs >= cut.startMs && s.startMs < firstFenced.startMs && s.result === 'ok').length,
          refused: writer.samples.filter((s) => s.startMs >= cutAt && s.result === 'FENCED').length,
          healMs: firstOk.startMs - healAt,
          ratePerS: (1000 * writer.samples.length) / (writer.samples[writer.samples.length - 1]!.startMs - writer.samples[0]!.startMs),
        });
        const other = writer.samples.filter((s) => s.result !== 'ok' && s.result !== 'FENCED');
        if (other.length > 0) console.log(`  (round ${r + 1}, ${cutMs} ms cut: ${other.length} writes failed otherwise, e.g. ${other[0]!.result})`);
      }
    }
    console.log(`silent drops (iptables DROP, daemons in network namespaces, health check ${LAB_HEALTH.intervalMs}/${LAB_HEALTH.timeoutMs} ms x ${LAB_HEALTH.failureThreshold}, one write every ${writeIntervalMs} ms on c):`);
    console.log(`  bound: contact window = ${LAB_HEALTH.failureThreshold} x ${LAB_HEALTH.intervalMs} + ${LAB_HEALTH.timeoutMs} = ${windowMs} ms from the cut to FENCED; heal -> writes accepted <= ${HEAL_TARGET_MS} ms`);
    for (const cutMs of silentCutsMs) {
      const rs = rows.filter((x) => x.cutMs === cutMs);
      const within = rs.filter((x) => x.fenceMs <= windowMs).length;
      const healed = rs.filter((x) => x.healMs <= HEAL_TARGET_MS).length;
      console.log(`  ${(cutMs / 1000).toFixed(1)} s cuts (${rs.length} rounds):`);
      console.log(`    cut -> minority FENCED:       ${fmt(rs.map((x) => x.fenceMs))}  (bound ${windowMs} ms; ${within}/${rs.length} within; the cut's iptables command took ${fmt(rs.map((x) => x.ruleMs))})`);
      console.log(`    local writes acked meanwhile: ${fmt(rs.map((x) => x.acked), '', 0)}  (c wrote ${fmt(rs.map((x) => x.ratePerS), '/s', 0)}: at most about rate x ${windowMs} ms)`);
      console.log(`    heal -> writes accepted:      ${fmt(rs.map((x) => x.healMs))}  (target ${HEAL_TARGET_MS} ms; ${healed}/${rs.length} within)`);
      console.log(`    writes refused (FENCED):      ${fmt(rs.map((x) => x.refused), '', 0)}`);
    }
  } finally {
    for (const fn of teardowns.reverse()) await fn();
  }
}

if (process.env.BENCH_RESETS !== 'off') await resetCuts();
if (process.env.BENCH_SILENT !== 'off') await silentCuts();
