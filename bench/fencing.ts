// Fencing benchmark (prints figures; not a test): 3 controllers on loopback with the fast profile
// (heartbeat interval 200 ms). Over several rounds, controller c is cut off from a and b at the
// connection layer; prints the time from the cut until c refuses writes, and from the heal until it
// accepts them again. Target: both <= 2 x the heartbeat interval (400 ms).
//   npm run bench:fencing         BENCH_ROUNDS=10
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FAST_PROFILE } from '../node/config/membership-config.ts';
import { ControllerNode } from '../node/controller/controller-node.ts';
import { makeFederation } from '../test/helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../test/helpers/cluster.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const fed = await makeFederation('fence-bench');
const NAMES = ['a', 'b', 'c'];
const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
const dir = mkdtempSync(join(tmpdir(), 'novaedge-bench-fence-'));
const nodes = await Promise.all(plan.map((m) => ControllerNode.start({
  membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
  replication: { dataDir: join(dir, m.name), controllers: NAMES },
}, { membershipProfile: FAST_PROFILE })));
const [a, b, c] = nodes as [ControllerNode, ControllerNode, ControllerNode];
const until = async (what: string, cond: () => boolean): Promise<number> => {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > 20_000) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - t0;
};
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
const fmt = (xs: number[]): string => `min ${Math.min(...xs).toFixed(1)} / median ${xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)]!.toFixed(1)} / max ${Math.max(...xs).toFixed(1)} ms`;
console.log(`cut -> minority fenced (${rounds} rounds): ${fmt(cut)}  (target <= 400 ms)`);
console.log(`heal -> unfenced (${rounds} rounds): ${fmt(heal)}  (target <= 400 ms)`);
console.log('(the cut closes connections; a silent partition is fenced when the failure detector gives up: 3 x 200 + 100 = 700 ms after the last heartbeat)');
for (const n of nodes) await n.stop();
rmSync(dir, { recursive: true, force: true });
