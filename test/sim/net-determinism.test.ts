// Same seed, same run: four nodes with the real reconnector, gossip with loss, duplication and
// reordering, request streams to random peers, a partition and its heal, a crash and a restart, clock
// skew — twice with one seed gives the same trace hash and the same observations; another seed gives
// another run.
import t from 'tap';
import type { Connection } from '@libp2p/interface';
import type { GossipsubMessage } from '@chainsafe/libp2p-gossipsub';
import { lpStream } from 'it-length-prefixed-stream';
import type { Host } from '../../node/host/create-host.ts';
import { every } from '../../node/components.ts';
import { Scheduler } from './scheduler.ts';
import { SimNetwork } from './net/network.ts';
import { simAddress, startSimNodeHost } from './net/sim-node-host.ts';
import { TEST_TOPIC } from './net/test-world.ts';

const NAMES = ['a', 'b', 'c', 'd'];

async function scenario(seed: number): Promise<{ hash: string; log: string[]; events: number }> {
  const s = new Scheduler({ seed });
  const net = new SimNetwork(s, { link: { latencyMinMs: 0.5, jitterMeanMs: 2, gossipDropRate: 0.05, gossipDupRate: 0.05, gossipReorderRate: 0.1 } });
  const addrs = await Promise.all(NAMES.map((n) => simAddress(s, n)));
  const log: string[] = [];
  const start = async (name: string): Promise<Host> => {
    const { host, rt } = await startSimNodeHost(s, net, name, addrs);
    const lib = host.libp2p;
    // Identify after the connection opens (a node does it after auth), then gossip.
    lib.addEventListener('connection:open', (e) => host.afterAuthenticated((e as CustomEvent<Connection>).detail));
    lib.services.pubsub.subscribe(TEST_TOPIC);
    lib.services.pubsub.addEventListener('gossipsub:message', (e) => {
      const m = (e as CustomEvent<GossipsubMessage>).detail.msg;
      log.push(`${s.nowMs().toFixed(3)} ${name} got ${new TextDecoder().decode(m.data)}`);
    });
    await lib.handle('/echo/1', ({ stream }) => {
      const lp = lpStream(stream);
      void lp.read().then((f) => lp.write(f)).then(() => stream.close()).catch((err: unknown) => stream.abort(err as Error));
    });
    let n = 0;
    every(rt.timers, 200 + rt.rand.int(200), () => {
      n += 1;
      void lib.services.pubsub.publish(TEST_TOPIC, new TextEncoder().encode(`${name}-${n} wall ${rt.wallClock()}`)).catch(() => undefined);
      const peers = lib.getConnections().filter((c) => c.status === 'open');
      if (peers.length === 0) return;
      const conn = rt.rand.pick(peers);
      void (async () => {
        const st = await conn.newStream('/echo/1', { signal: AbortSignal.any([]) });
        const lp = lpStream(st);
        await lp.write(new TextEncoder().encode(`${name}-${n}`));
        const back = new TextDecoder().decode((await lp.read()).subarray());
        log.push(`${s.nowMs().toFixed(3)} ${name} echo ${back}`);
        await st.close();
      })().catch((err: unknown) => log.push(`${s.nowMs().toFixed(3)} ${name} echo failed ${(err as Error).name}`));
    });
    return host;
  };
  for (const n of NAMES) await start(n);
  s.setSkew('c', 2_500);
  await s.runFor(2_000);
  net.partition([['a', 'b'], ['c', 'd']]);
  await s.runFor(3_000);
  net.heal();
  await s.runFor(1_000);
  net.crash('d');
  await s.runFor(1_000);
  await start('d');
  await s.runFor(3_000);
  return { hash: s.traceHash(), log, events: s.stats().eventsRun };
}

t.test('same seed, same run byte for byte; another seed, another run', async (t) => {
  const x = await scenario(51);
  const y = await scenario(51);
  t.ok(x.log.length > 100, `the scenario did things (${x.log.length} observations, ${x.events} events)`);
  t.ok(x.log.some((l) => l.includes(' echo failed ')) || x.log.some((l) => l.includes(' d got ')), 'faults and recovery showed');
  t.equal(x.hash, y.hash, 'same trace hash');
  t.same(x.log, y.log, 'same observations');
  const z = await scenario(52);
  t.not(z.hash, x.hash, 'another seed, another trace');
});
