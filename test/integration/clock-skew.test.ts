// Clock skew fences the skewed controller (issue 16, item 2): three real controllers in one process,
// one of them with its physical clock 8 s ahead or 8 s behind (injected as components.wallClock; Date
// is not touched). The skewed one refuses every write with FENCED, reason CLOCK_SKEW, while the two
// healthy ones accept them; sequential updates alternating between all three lose nothing; once the
// skew is gone it is un-fenced and its writes replicate like any other. And the clock probe protocol
// refuses (and counts) whatever else a controller sends on it.
import t from 'tap';
import { join } from 'node:path';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import type { FenceEvent } from '../../node/controller/fence-transitions.ts';
import { Registry } from 'prom-client';
import { registerControllerMetrics } from '../../node/metrics/controller-metrics.ts';
import { clockProtocol } from '../../node/protocols.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { parsePromText, valueOf } from '../helpers/prom-text.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['a', 'b', 'c'];
const SKEW_MS = 8_000;
const res = (name: string, spec: object) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name }, spec });

interface Skewed {
  nodes: Map<string, ControllerNode>;
  /** c's clock offset, ms; change it to move c's clock. */
  skew: { ms: number };
  /** c's fence events since it started. */
  fences: FenceEvent[];
}

async function cluster(t: import('tap').Test, skewMs: number): Promise<Skewed> {
  const fed = await makeFederation('skew-fed');
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const nodes = new Map<string, ControllerNode>();
  const skew = { ms: skewMs };
  const fences: FenceEvent[] = [];
  t.teardown(async () => { for (const n of nodes.values()) await n.stop(); });
  for (const m of plan) {
    const node = await ControllerNode.start({
      // The documented default maxClockOffsetMs (500) applies: nothing configures it here.
      membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
      replication: { dataDir: join(dir, m.name), controllers: NAMES },
    }, {
      membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION,
      ...(m.name === 'c' ? { components: { wallClock: () => Date.now() + skew.ms } } : {}),
    });
    nodes.set(m.name, node);
    if (m.name === 'c') node.on('fence', (e) => fences.push(e));
  }
  await waitFor('controllers connected', () => [...nodes.values()].every((n) =>
    n.fence.reachable().length === NAMES.length && n.replicator.status().every((s) => s.connected)), { timeoutMs: 15_000 });
  return { nodes, skew, fences };
}

// A healthy controller's write, retried while it is refused: on a loaded machine a link can drop
// for a moment (FENCED: NO_QUORUM), which refuses the write; a refused write is not a lost update.
async function accepted(n: ControllerNode, name: string, spec: object): Promise<void> {
  await waitFor(`${n.membership.memberName} accepts ${name}`, async () => (await attempt(n, name, spec)) === 'ok', { timeoutMs: 10_000, intervalMs: 50 },
    () => n.status().quorum);
}

// The write's outcome: 'ok', or the FENCED reason.
async function attempt(n: ControllerNode, name: string, spec: object): Promise<string> {
  try {
    await n.apply(res(name, spec));
    return 'ok';
  } catch (err) {
    const e = err as { code?: string; reason?: string };
    if (e.code === 'FENCED') return `FENCED:${e.reason}`;
    throw err;
  }
}

for (const [direction, skewMs] of [['ahead', SKEW_MS], ['behind', -SKEW_MS]] as const) {
  t.test(`a controller ${SKEW_MS / 1000} s ${direction} refuses writes with CLOCK_SKEW; the majority loses no update`, async (t) => {
    const { nodes, skew, fences } = await cluster(t, skewMs);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    const c = nodes.get('c')!;

    // The mechanism, not a timing: c refuses writes once it has measured its peers' clocks.
    await waitFor('c refuses writes', async () => (await attempt(c, 'probe', { n: 0 })) === 'FENCED:CLOCK_SKEW', { timeoutMs: 10_000 },
      () => ({ status: c.status().quorum, offsets: Object.fromEntries(c.fence.clockOffsets()) }));
    const st = c.status().quorum;
    t.match(st, { writesFenced: true, fenceReason: 'CLOCK_SKEW', haveQuorum: false, reachablePeers: '2/2' }, 'c: fenced for clock skew while reaching both peers');
    t.same(st.clockSkewedPeers, ['a', 'b'], 'c: both peers\' clocks differ from its own');
    await t.rejects(c.apply(res('x', { n: 1 })), { code: 'FENCED', reason: 'CLOCK_SKEW', message: /clock skew.*maxClockOffset \(500 ms\)/ });
    for (const h of [a, b]) {
      const q = h.status().quorum;
      t.match(q, { writesFenced: false, fenceReason: 'NONE', haveQuorum: true }, `${h.membership.memberName}: accepts writes`);
    }
    // The metrics say so: c's view of its peers' clocks, and the fence by reason.
    const registry = new Registry();
    registerControllerMetrics(registry, c);
    const prom = parsePromText(await registry.metrics());
    const seen = valueOf(prom, 'novaedge_federation_clock_offset_seconds', { peer: 'a' }) ?? 0;
    t.ok(Math.sign(seen) === -Math.sign(skewMs) && Math.abs(seen) > 7, `c: novaedge_federation_clock_offset_seconds{peer="a"} ${seen.toFixed(2)}`);
    t.ok((valueOf(prom, 'novaedge_federation_fence_transitions_total', { to: 'fenced', reason: 'CLOCK_SKEW' }) ?? 0) >= 1, 'c: fence counted by reason');
    const offset = await waitFor('a measures c', () => a.fence.clockOffsets().get('c'), { timeoutMs: 5_000 });
    t.ok(Math.sign(offset.offsetMs) === Math.sign(skewMs) && Math.abs(offset.offsetMs) > 7_000,
      `a measures c ${direction} by about 8 s (${offset.offsetMs.toFixed(0)} ± ${offset.uncertaintyMs.toFixed(0)} ms)`);

    // Sequential updates, each key written in turn on c, a, b, c, b, a: every write c accepts would be
    // stamped 8 s off and reorder last-writer-wins.
    const order = [c, a, b, c, b, a];
    const expected = new Map<string, number>();
    const onC = new Map<string, number>();
    for (let k = 0; k < 10; k++) {
      for (let i = 0; i < order.length; i++) {
        const n = order[i]!;
        if (n === c) {
          const outcome = await attempt(c, `k${k}`, { v: i });
          onC.set(outcome, (onC.get(outcome) ?? 0) + 1);
        } else {
          await accepted(n, `k${k}`, { v: i });
          expected.set(`k${k}`, i);
        }
      }
    }
    t.equal(onC.get('ok') ?? 0, 0, `no write accepted on the skewed controller (${JSON.stringify(Object.fromEntries(onC))})`);
    t.ok((onC.get('FENCED:CLOCK_SKEW') ?? 0) > 0, 'its writes are refused for clock skew');
    const lost = async (n: ControllerNode): Promise<string[]> => {
      const out: string[] = [];
      for (const [key, v] of expected) {
        const spec = (await n.get(`ProxyRoute/default/${key}`))?.value?.spec as { v?: number } | undefined;
        if (spec?.v !== v) out.push(key);
      }
      return out;
    };
    await waitFor('a and b hold the last update of every key', async () => (await lost(a)).length === 0 && (await lost(b)).length === 0, { timeoutMs: 10_000 });
    t.same(await lost(a), [], 'no lost update on a');
    t.same(await lost(b), [], 'no lost update on b');

    // The skew goes away: c agrees again (once its HLC is no longer ahead: after a clock 8 s ahead,
    // the stamps it already issued keep it fenced until real time catches up with them).
    // From the first CLOCK_SKEW fence on, c never accepted writes (a link dropped by a loaded machine
    // may turn the reason into NO_QUORUM for a while; it never un-fences).
    const first = fences.findIndex((e) => e.fenced && e.reason === 'CLOCK_SKEW');
    t.ok(first >= 0, 'c entered a CLOCK_SKEW fence');
    t.same(fences.slice(first).filter((e) => !e.fenced), [], 'and stayed fenced while skewed');
    const skewedUntil = fences.length;
    skew.ms = 0;
    await waitFor('c accepts writes again', async () => (await attempt(c, 'probe', { n: 1 })) === 'ok', { timeoutMs: 20_000 },
      () => ({ status: c.status().quorum, offsets: Object.fromEntries(c.fence.clockOffsets()) }));
    t.match(c.status().quorum, { writesFenced: false, fenceReason: 'NONE', clockSkewedPeers: [] });
    t.match(fences.slice(skewedUntil).find((e) => !e.fenced), { fenced: false, clockSkewedPeers: [] }, 'an event says c is un-fenced');
    // And its writes replicate and are ordered with everyone else's again. Each write is awaited on
    // every controller before the next: right after the un-fence c's stamps may still lead by up to
    // maxClockOffset, within which writes that did not see each other may be ordered either way.
    const everywhere = (key: string, v: number) => async (): Promise<boolean> => {
      for (const n of nodes.values()) {
        const spec = (await n.get(`ProxyRoute/default/${key}`))?.value?.spec as { v?: number } | undefined;
        if (spec?.v !== v) return false;
      }
      return true;
    };
    for (let k = 0; k < 3; k++) {
      for (const [i, n] of [c, a, b, c].entries()) {
        await accepted(n, `k${k}`, { v: 100 + i });
        expected.set(`k${k}`, 100 + i);
        await waitFor(`k${k} = ${100 + i} everywhere`, everywhere(`k${k}`, 100 + i), { timeoutMs: 10_000 });
      }
    }
    // c catches up on what it refused while its clock was off (anti-entropy), and nothing is lost.
    await waitFor('every controller holds the last update of every key', async () => {
      for (const n of nodes.values()) if ((await lost(n)).length > 0) return false;
      return true;
    }, { timeoutMs: 15_000 });
    for (const n of nodes.values()) t.same(await lost(n), [], `${n.membership.memberName} holds the last update of every key`);
  });
}

t.test('a controller that sends something else on the clock probe protocol is refused and counted; nothing else changes', async (t) => {
  const { nodes } = await cluster(t, 0);
  const a = nodes.get('a')!;
  const b = nodes.get('b')!;
  const bPeer = b.membership.peerId;
  for (const payload of [Uint8Array.of(0x7b), new TextEncoder().encode('{"t":"clock"}')]) {
    const conn = a.membership.libp2p.getConnections(bPeer).find((c) => c.status === 'open')!;
    const stream = await conn.newStream(clockProtocol(a.membership.config.federationId));
    await stream.sink((async function* () { yield payload; })()).catch(() => undefined);
  }
  await waitFor('both refused', () => b.membership.counters().clockProbesRefused >= 2, { timeoutMs: 5_000 });
  t.equal(b.membership.counters().clockProbesRefused, 2, 'each hostile stream counted once');
  await accepted(b, 'after-garbage', { n: 1 });
  t.match(b.status().quorum, { fenceReason: 'NONE', clockSkewedPeers: [] }, 'no clock verdict came of it');
  const before = b.membership.counters().clockProbeFailures;
  await waitFor('b still probes a', () => b.fence.clockOffsets().get('a') !== undefined, { timeoutMs: 5_000 });
  t.equal(b.membership.counters().clockProbeFailures, before, 'its own probes go on failing nothing');
});
