// Say what happened (issue 16, item 8), on three real controllers: cutting one off from both others
// is one `fence` event and one "writes fenced" log line on it, with the reason, votes and reachable
// peers, seen without any write; the heal is one "unfenced"; each event has exactly one log line.
import t from 'tap';
import { join } from 'node:path';
import { pino } from 'pino';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import type { FenceEvent, QuorumEvent } from '../../node/controller/fence-transitions.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['a', 'b', 'c'];

t.test('a cut is one fenced event and one log line on the cut controller, the heal one unfenced', async (t) => {
  const fed = await makeFederation('events-fed');
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const nodes = new Map<string, ControllerNode>();
  t.teardown(async () => { for (const n of nodes.values()) await n.stop(); });
  const lines: Array<{ msg: string; level: number; component?: string; [k: string]: unknown }> = [];
  const fences: FenceEvent[] = [];
  const quorums: QuorumEvent[] = [];
  for (const m of plan) {
    const logger = m.name === 'c' ? pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)); } }) : undefined;
    const node = await ControllerNode.start({
      membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
      replication: { dataDir: join(dir, m.name), controllers: NAMES },
    }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION, ...(logger === undefined ? {} : { logger }) });
    nodes.set(m.name, node);
    if (m.name === 'c') {
      node.on('fence', (e) => fences.push(e));
      node.on('quorum', (e) => quorums.push(e));
    }
  }
  const c = nodes.get('c')!;
  await waitFor('c accepts writes', () => !c.status().quorum.writesFenced, { timeoutMs: 15_000 });
  const fenceLines = (): typeof lines => lines.filter((l) => l.component === 'fence' && (l.msg === 'writes fenced' || l.msg === 'writes unfenced'));
  t.equal(fenceLines().length, fences.length, 'so far, one log line per fence event');

  const before = fences.length;
  for (const x of ['a', 'b']) { await c.cutLink(x); await nodes.get(x)!.cutLink('c'); }
  await waitFor('the fence event', () => fences.length > before, { timeoutMs: 5_000 });
  const cut = fences.slice(before);
  t.same(cut.map((e) => ({ fenced: e.fenced, reason: e.reason, votes: e.votes, threshold: e.threshold, total: e.total, reachable: e.reachable })),
    [{ fenced: true, reason: 'NO_QUORUM', votes: 1, threshold: 2, total: 3, reachable: ['c'] }], 'one event: fenced, no quorum, 1 of 3 votes, threshold 2, only itself reached');
  const warn = fenceLines().at(-1)!;
  t.match(warn, { msg: 'writes fenced', level: 40, reason: 'NO_QUORUM', votes: 1, threshold: 2, reachable: ['c'] }, 'and its warning');
  t.match(quorums.at(-1), { haveQuorum: false, votes: 1 }, 'quorum lost');
  await t.rejects(c.apply({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: 'x' }, spec: {} }), { code: 'FENCED', reason: 'NO_QUORUM' });
  t.equal(fences.length, before + 1, 'a refused write adds no event');

  for (const x of ['a', 'b']) { c.restoreLink(x); nodes.get(x)!.restoreLink('c'); }
  await waitFor('the unfence event', () => fences.length > before + 1, { timeoutMs: 10_000 });
  t.match(fences[before + 1], { fenced: false, previousReason: 'NO_QUORUM' }, 'the heal: one unfenced event');
  t.match(fenceLines().filter((l) => l.msg === 'writes unfenced').at(-1), { level: 30, previousReason: 'NO_QUORUM' });
  t.equal(fenceLines().length, fences.length, 'one log line per fence event, all along');
  t.equal(lines.filter((l) => l.component === 'fence' && /^quorum (lost|regained)$/.test(l.msg)).length, quorums.length, 'one log line per quorum event');
});
