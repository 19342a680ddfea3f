// Issue 16 item 3: a majority never fences itself because of someone else's cut.
//
// Three controller daemons, each in its own network namespace. The direct connections between a and
// c are made half-open: every packet of those connections is dropped silently (iptables DROP on the
// exact TCP tuples, at both ends), while new connections still pass and b keeps relaying their
// heartbeats by gossip, so the peer tables stay Healthy. The link must be found dead end to end (no
// ping answered for the contact window), closed and redialed. Then b is cut off silently: a and c
// are the majority and must keep accepting writes; with the dead a-c link kept open, a would hear c
// only through b, lose it with b, and fence itself.
import t from 'tap';
import { startLabControllers } from '../helpers/lab-controllers.ts';
import { labUnavailable, type TcpTuple } from '../helpers/netns-lab.ts';
import { waitFor } from '../helpers/wait-for.ts';

const unavailable = labUnavailable();
const key = (c: TcpTuple): string => `${c.localPort}>${c.remotePort}`;
// The daemons' health check (test/helpers/daemon-config.ts): 3 x 200 ms + 100 ms.
const WINDOW_MS = 700;
// The daemons' gossip mesh-maintenance period (membership default gossipHeartbeatMs).
const GOSSIP_HEARTBEAT_MS = 1_000;

t.test('a half-open controller link is closed and redialed; the majority keeps writing when the third is cut off', {
  skip: unavailable === undefined ? false : `network namespace lab unavailable: ${unavailable}`,
}, async (t) => {
  const lc = await startLabControllers(t, ['a', 'b', 'c'], 'halfopen-fed');
  const { lab } = lc;
  const dead = await waitFor('a-c connections', () => {
    const c = lab.connections('a', 'c');
    return c.length > 0 ? c : undefined;
  }, { timeoutMs: 10_000, intervalMs: 50 });
  const deadKeys = new Set(lab.blackholeConnections('a', 'c').map(key));
  t.ok(deadKeys.size >= dead.length, `${deadKeys.size} a-c connection(s) made half-open`);

  // Carry on when this fails: what follows shows what a kept half-open link costs.
  const redialed = await waitFor('the half-open a-c connections closed and a new one open', () => {
    const now = lab.connections('a', 'c').map(key);
    return now.length > 0 && now.every((k) => !deadKeys.has(k)) ? now : undefined;
  }, { timeoutMs: 20 * WINDOW_MS, intervalMs: 50 }).catch(() => undefined);
  t.ok(redialed !== undefined, `the half-open connections were closed and a-c redialed (${redialed?.join(', ') ?? `still ${lab.connections('a', 'c').map(key).join(', ')}`})`);
  const closing = (name: string): boolean => lc.daemons.get(name)!.logs.some((l) => l.msg === 'controller link silent for the contact window; closing it and redialing');
  const logged = await waitFor('the closing logged', () => closing('a') || closing('c'), { timeoutMs: 5_000, intervalMs: 20 }).catch(() => false);
  t.ok(logged, 'a or c logged closing the silent link');
  if (redialed !== undefined) {
    // Heartbeats start flowing over a new connection within one gossip heartbeat (1 s by default:
    // gossipsub publishes to a new peer once its score is refreshed); until then they still come
    // relayed by b. Wait until a and c have reached each other for two gossip heartbeats in a row.
    let since: number | undefined;
    await waitFor('a and c reach each other, steadily for two gossip heartbeats', async () => {
      const [sa, sc] = [await lc.status('a'), await lc.status('c')];
      if (sa.quorum.reachablePeers !== '2/2' || sc.quorum.reachablePeers !== '2/2') since = undefined;
      else since ??= performance.now();
      return since !== undefined && performance.now() - since >= 2 * GOSSIP_HEARTBEAT_MS;
    }, { timeoutMs: 15_000, intervalMs: 50 });
  }

  // Now the fault the majority must survive: b is cut off, silently, from both.
  lab.dropBetween('b', 'a');
  lab.dropBetween('b', 'c');
  const fencedSeen: string[] = [];
  let i = 0;
  const writeBoth = async (): Promise<void> => {
    for (const n of ['a', 'c']) {
      const r = await lc.write(n, `w-${n}-${i++}`);
      if (r !== 'ok') fencedSeen.push(`${n}: ${r}`);
    }
  };
  // Write until both have counted b out (the contact window has passed), then 20 writes more each.
  await waitFor('a and c count b out', async () => {
    await writeBoth();
    const [sa, sc] = [await lc.status('a'), await lc.status('c')];
    return sa.quorum.reachablePeers === '1/2' && sc.quorum.reachablePeers === '1/2';
  }, { timeoutMs: 20_000, intervalMs: 20 }).catch((err: unknown) => { t.fail(String(err)); });
  const countedOutAt = performance.now();
  for (let k = 0; k < 20; k++) await writeBoth();
  t.same(fencedSeen.slice(0, 5), [], `no write refused on the majority side (${fencedSeen.length} refused)`);
  for (const n of ['a', 'c']) {
    const s = await lc.status(n);
    t.equal(s.quorum.writesFenced, false, `${n} not fenced`);
    t.equal(s.fence?.fenced, 0, `${n} refused no write`);
  }
  // b decides from its own last contacts, which can be a probe interval younger than the majority's
  // last contact with b: it must fence within the contact window of losing both, so the wait is
  // bounded by that window plus a probe round, from the moment a and c counted b out.
  const bWaitMs = await waitFor('b, the cut-off minority, fenced', async () => {
    const s = await lc.status('b');
    return s.quorum.writesFenced ? performance.now() - countedOutAt : undefined;
  }, { timeoutMs: 2 * WINDOW_MS, intervalMs: 20 }).catch(() => undefined);
  t.ok(bWaitMs !== undefined, `b, the cut-off minority, is fenced (${bWaitMs === undefined ? 'not' : `${Math.round(bWaitMs)} ms`} after a and c counted it out)`);
});
