// Removing a controller (prints figures; not a test): three controllers and BENCH_AGENTS agents in
// this process, on loopback, with the fast profiles (health checks every 200 ms) as the other
// in-process benches; every agent follows ctl-c first. Each round starts a fresh federation, removes
// ctl-c on ctl-a (`members remove`: a drain by anti-entropy, then the Paxos rounds), and measures
// from the call: until the removal is committed (the call returns), until ctl-c knows it was removed
// (it was told the record), and until every agent follows another controller. Then a quorum write on
// ctl-a shows the two left write on, and a membership change alone (a deny: Paxos rounds, no drain)
// is timed for comparison. The removal is asked once the voters have settled after their start (a
// voter accepts a voter change one clock-probe cycle after it committed its epoch or started: 2.1 s
// with the fast profile); a removal asked sooner waits for that first.
// BENCH_MODE=AgentAssisted: the same with agents' votes (lease 1.5 s): the removal then also waits for
// the knowers rule and a settle, and is finished by one more epoch (the joint count ends), timed too.
//   npm run bench:members-remove          BENCH_ROUNDS=5 BENCH_AGENTS=20 BENCH_MODE=Controllers
//   BENCH_SMOKE=1: 1 round, 3 agents (bench/smoke.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentFederation, route } from '../test/helpers/agent-federation.ts';
import { waitFor } from '../test/helpers/wait-for.ts';
import { generateEd25519Key } from '../node/identity/keys.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { percentile } from './bench-cluster.ts';
import { envNumber, shortfall } from './smoke.ts';

const rounds = envNumber('BENCH_ROUNDS', 5, 1);
const agentCount = envNumber('BENCH_AGENTS', 20, 3);
const root = mkdtempSync(join(tmpdir(), 'novaedge-bench-remove-'));
const agents = Array.from({ length: agentCount }, (_, i) => `edge-${i + 1}`);
const assisted = process.env['BENCH_MODE'] === 'AgentAssisted';
const splitBrain = assisted
  ? { mode: 'AgentAssisted' as const, controllerWeight: 10, agentWeight: 1, minAgentsForQuorum: 1, leaseMs: 1500, driftMarginMs: 100, detectionDelayMs: 0 }
  : {};
const results: Array<{ committedMs: number; knownMs: number; offMs: number[]; denyMs: number; finishedMs: number | undefined }> = [];

try {
  for (let round = 1; round <= rounds; round++) {
    const teardowns: Array<() => unknown> = [];
    let dirs = 0;
    const fakeTest = { testdir: () => join(root, `r${round}-${dirs++}`), teardown: (fn: () => unknown) => { teardowns.unshift(fn); } };
    try {
      const f = await agentFederation(fakeTest, { controllers: ['ctl-a', 'ctl-b', 'ctl-c'], agents, pinned: true, splitBrain });
      const [a, c] = [f.controllers.get('ctl-a')!, f.controllers.get('ctl-c')!];
      await Promise.all(agents.map((n) => f.startAgent(n, ['ctl-c', 'ctl-a', 'ctl-b'])));
      const followsC = (n: string): boolean => c.membership.authenticatedPeers().some((p) => p.member === n);
      await waitFor('every agent follows ctl-c', () => agents.every(followsC), { timeoutMs: 30_000 });
      // A voter accepts a voter change one probe cycle after it started (members-acceptor.ts,
      // settling): measured apart, so that the figures below are the removal's own.
      await waitFor('the voters settled after their start', () => [...f.controllers.values()].every((n) => n.members!.acceptor.settlingMs() === 0), { timeoutMs: 30_000 });
      const off = new Map<string, number>();
      const t0 = performance.now();
      // Sample each agent's controller every millisecond until all have left ctl-c.
      const sampler = setInterval(() => {
        for (const n of agents) {
          if (off.has(n)) continue;
          const ag = f.agents.get(n)!;
          const following = ag.status().controller;
          if (following !== undefined && following !== 'ctl-c' && ag.membership.authenticatedPeers().some((p) => p.member === following)) off.set(n, performance.now() - t0);
        }
      }, 1);
      const removed = await a.removeController('ctl-c');
      const committedMs = performance.now() - t0;
      await waitFor('ctl-c knows it was removed', () => c.members?.removed === true, { timeoutMs: 10_000, intervalMs: 1 });
      const knownMs = performance.now() - t0;
      let finishedMs: number | undefined;
      if (assisted) {
        await waitFor('the removal finished on ctl-a and ctl-b', () => ['ctl-a', 'ctl-b'].every((n) => f.controllers.get(n)!.members!.committed.priorVoters === undefined),
          { timeoutMs: 30_000, intervalMs: 1 });
        finishedMs = performance.now() - t0;
      }
      const allOff = await waitFor('every agent follows another controller', () => off.size === agents.length, { timeoutMs: 30_000 }).then(() => true, () => false);
      clearInterval(sampler);
      shortfall(allOff, `only ${off.size} of ${agents.length} agents left ctl-c`);
      await a.ready({ timeoutMs: 10_000 });
      const w = await a.apply(route(`after-${round}`), { durability: 'quorum' });
      const offMs = [...off.values()].sort((x, y) => x - y);
      const someone = peerIdFromPrivateKey(await generateEd25519Key()).toString();
      const d0 = performance.now();
      await a.members!.propose({ op: 'deny', peerId: someone, name: 'retired', role: 'operator' });
      const denyMs = performance.now() - d0;
      results.push({ committedMs, knownMs, offMs, denyMs, finishedMs });
      console.log(`round ${round}/${rounds}: ctl-c removed at epoch ${removed.record.epoch} (${removed.drained ? 'drained first' : 'not drained'}); committed after ${committedMs.toFixed(1)} ms, ` +
        `ctl-c knew after ${knownMs.toFixed(1)} ms, ${finishedMs === undefined ? '' : `finished after ${finishedMs.toFixed(0)} ms, `}${off.size}/${agents.length} agents on another controller after p50 ${percentile(offMs, 50).toFixed(0)} ms, max ${(offMs.at(-1) ?? NaN).toFixed(0)} ms; ` +
        `then a quorum write acknowledged by ${(w.acknowledgedBy ?? []).join(', ')}; a deny alone committed in ${denyMs.toFixed(1)} ms`);
    } finally {
      for (const td of teardowns) await td();
    }
  }
  const med = (xs: number[]): number => percentile([...xs].sort((x, y) => x - y), 50);
  console.log(`members remove -> committed: median ${med(results.map((r) => r.committedMs)).toFixed(1)} ms over ${results.length} rounds`);
  console.log(`members remove -> the removed controller knows: median ${med(results.map((r) => r.knownMs)).toFixed(1)} ms`);
  if (assisted) console.log(`members remove -> finished (counted by the new voters alone): median ${med(results.map((r) => r.finishedMs ?? NaN)).toFixed(0)} ms`);
  console.log(`a membership change alone (deny, no drain) -> committed: median ${med(results.map((r) => r.denyMs)).toFixed(1)} ms`);
  console.log(`members remove -> every one of ${agentCount} agents off it: median ${med(results.map((r) => r.offMs.at(-1) ?? NaN)).toFixed(0)} ms (the slowest agent of each round)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
