// AgentAssisted fencing benchmark (prints figures; not a test): the guide's two datacenters on
// loopback with the fast profiles (heartbeat interval 200 ms, vote lease 1.5 s): c-a with agents
// a1-a3, c-b with a4-a5, real agents. Over several rounds the controllers are cut apart at the
// connection layer; prints the time from the cut until the minority (c-b: 10 + 2 = 12 of 25) refuses
// writes, and from the heal until it accepts them again, and checks that c-a kept quorum throughout.
// Odd rounds heal at once (as bench/fencing.ts does); even rounds hold the cut for a lease interval
// first, so the majority must live on renewed leases, and the reconnector's backoff has grown by the
// heal (that, not the votes, is what makes those heals slower).
//   npm run bench:agent-assisted        BENCH_ROUNDS=10
//   BENCH_SMOKE=1: 2 rounds, one of each kind (bench/smoke.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentFederation } from '../test/helpers/agent-federation.ts';
import { envNumber } from './smoke.ts';

const rounds = envNumber('BENCH_ROUNDS', 5, 2);
const LEASE_MS = 1500;
const root = mkdtempSync(join(tmpdir(), 'novaedge-bench-aa-'));
const teardowns: Array<() => unknown> = [];
let dirs = 0;
const fakeTest = { testdir: () => join(root, `d${dirs++}`), teardown: (fn: () => unknown) => { teardowns.unshift(fn); } };

const f = await agentFederation(fakeTest, {
  controllers: ['c-a', 'c-b'], agents: ['a1', 'a2', 'a3', 'a4', 'a5'],
  splitBrain: { mode: 'AgentAssisted', controllerWeight: 10, agentWeight: 1, minAgentsForQuorum: 1, leaseMs: LEASE_MS, driftMarginMs: 100, detectionDelayMs: 0 },
});
const ca = f.controllers.get('c-a')!;
const cb = f.controllers.get('c-b')!;
await Promise.all([
  ...['a1', 'a2', 'a3'].map((a) => f.startAgent(a, ['c-a', 'c-b'])),
  ...['a4', 'a5'].map((a) => f.startAgent(a, ['c-b', 'c-a'])),
]);

const until = async (what: string, cond: () => boolean, timeoutMs = 30_000): Promise<number> => {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return performance.now() - t0;
};
const settled = (): boolean => [ca, cb].every((c) => c.fence.reachable().length === 2 && c.agentVotes!.registeredAgents().size === 5) &&
  ca.agentVotes!.leasedAgents(performance.timeOrigin + performance.now()).length === 3 &&
  cb.agentVotes!.leasedAgents(performance.timeOrigin + performance.now()).length === 2;
const startMs = performance.now();
await until('registered and leased', settled, 60_000);
console.log(`setup: 5 agents registered on both controllers and leases counted after ${(performance.now() - startMs).toFixed(0)} ms`);

const cut: number[] = [];
const healAtOnce: number[] = [];
const healAfterHold: number[] = [];
let majorityLost = 0;
for (let r = 0; r < rounds; r++) {
  const t0 = performance.now();
  await Promise.all([ca.cutLink('c-b'), cb.cutLink('c-a')]);
  await until('minority fenced', () => !cb.fence.tally().haveQuorum);
  cut.push(performance.now() - t0);
  // Hold the cut for a lease interval, watching the majority side.
  const hold = r % 2 === 1;
  const holdUntil = performance.now() + (hold ? LEASE_MS : 0);
  while (performance.now() < holdUntil) {
    if (!ca.fence.tally().haveQuorum) majorityLost++;
    await new Promise((res) => setTimeout(res, 5));
  }
  const t1 = performance.now();
  ca.restoreLink('c-b');
  cb.restoreLink('c-a');
  await until('unfenced', () => cb.fence.tally().haveQuorum);
  (hold ? healAfterHold : healAtOnce).push(performance.now() - t1);
  await until('settled', settled);
}
const fmt = (xs: number[]): string => {
  const s = [...xs].sort((x, y) => x - y);
  return `min ${s[0]!.toFixed(1)} / median ${s[Math.floor(s.length / 2)]!.toFixed(1)} / max ${s[s.length - 1]!.toFixed(1)} ms`;
};
console.log(`cut -> minority (c-b, 12 of 25) fenced (${rounds} rounds): ${fmt(cut)}  (target <= 400 ms)`);
console.log(`heal at once -> unfenced (${healAtOnce.length} rounds): ${fmt(healAtOnce)}  (target <= 400 ms)`);
if (healAfterHold.length > 0) console.log(`heal after a ${LEASE_MS} ms cut -> unfenced (${healAfterHold.length} rounds): ${fmt(healAfterHold)}  (includes reconnect backoff)`);
console.log(`majority (c-a, 13 of 25) samples without quorum during the ${LEASE_MS} ms cuts: ${majorityLost}`);
console.log('(a cut closes connections, so the minority loses c-a\'s weight at once; a silent partition fences when the failure detector gives up: 3 x 200 + 100 = 700 ms)');
for (const fn of teardowns) await fn();
rmSync(root, { recursive: true, force: true });
