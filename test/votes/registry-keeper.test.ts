// The agent registry keeper on a real store (Manual strategy, to show the record never conflicts),
// with fake peers and a fake clock: the registrar adds connected agents one quorum-durable change at
// a time, refuses without quorum, re-confirms a version not known to be quorum-durable (timeout,
// restart) before building on it, removes agents away past the expiry; other controllers only adopt
// the replicated record.
import t from 'tap';
import { join } from 'node:path';
import { quorumConfig } from '../../quorum/index.ts';
import { Store, type StoredRecord } from '../../storage/index.ts';
import { RegistryKeeper, type RegistryKeeperOptions } from '../../node/votes/registry-keeper.ts';
import { REGISTRY_KEY, SYSTEM_RECORD_SCHEMAS } from '../../node/votes/registry-record.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

const CONTROLLERS = ['c-a', 'c-b'];

interface Harness {
  store: Store;
  keeper: RegistryKeeper;
  clock: { now: number };
  peers: { reached: string[]; connected: string[]; leased: string[]; caughtUp: boolean; quorumOk: boolean };
  confirmed: StoredRecord[];
}

async function harness(t: import('tap').Test, self: string, dir: string, over: Partial<RegistryKeeperOptions> = {}): Promise<Harness> {
  const store = await Store.open({ path: join(dir, self), member: self, strategy: 'Manual', systemRecords: SYSTEM_RECORD_SCHEMAS });
  t.teardown(() => store.close());
  const clock = { now: 1_000 };
  const peers = { reached: [...CONTROLLERS], connected: [] as string[], leased: [] as string[], caughtUp: true, quorumOk: true };
  const confirmed: StoredRecord[] = [];
  const keeper = new RegistryKeeper({
    store,
    config: quorumConfig({ mode: 'AgentAssisted', self, controllers: CONTROLLERS, leaseMs: 1000, driftMarginMs: 100, agentAbsenceExpiryMs: 5_000 }),
    reachableControllers: () => peers.reached,
    leasedAgents: () => peers.leased,
    connectedAgents: () => peers.connected,
    lastHeardMs: () => undefined,
    caughtUp: () => peers.caughtUp,
    waitForQuorum: async (r) => {
      if (!peers.quorumOk) throw Object.assign(new Error('timed out'), { code: 'QUORUM_TIMEOUT' });
      confirmed.push(r);
    },
    periodMs: 60_000,
    timers: { ...TEST_TIMERS, nowMs: () => clock.now },
    ...over,
  });
  await keeper.start();
  t.teardown(() => keeper.stop());
  return { store, keeper, clock, peers, confirmed };
}

t.test('the registrar adds connected agents, one quorum-durable change at a time', async (t) => {
  const h = await harness(t, 'c-a', t.testdir());
  t.ok(h.keeper.isRegistrar);
  t.equal(await h.keeper.step(), 'idle');
  h.peers.connected = ['a2', 'a1', 'c-b'];
  t.equal(await h.keeper.step(), 'idle', 'both agents added in one step (a controller name is never an agent)');
  t.same(h.keeper.status(), { version: 2, agents: ['a1', 'a2'], registrar: 'c-a', confirmed: true });
  t.equal(h.confirmed.length, 2, 'each change waited for quorum durability');
  const view = await h.store.get(REGISTRY_KEY);
  t.same(view!.value!.spec, { version: 2, agents: ['a1', 'a2'], generation: 2, writtenBy: 'c-a' });
  t.same(await h.store.list(), [], 'not a user resource');
});

t.test('no quorum, or not caught up: nothing is proposed', async (t) => {
  const h = await harness(t, 'c-a', t.testdir());
  h.peers.connected = ['a1'];
  h.peers.caughtUp = false;
  t.equal(await h.keeper.step(), 'catching_up');
  h.peers.caughtUp = true;
  h.peers.reached = ['c-a']; // 10 of 20, no agent lease
  t.equal(await h.keeper.step(), 'no_quorum');
  t.equal(h.keeper.registry().version, 0);
  t.equal(await h.store.getRecord(REGISTRY_KEY), undefined, 'nothing written');
});

t.test('a version not known to be quorum-durable is re-confirmed before the next change', async (t) => {
  const dir = t.testdir();
  const h = await harness(t, 'c-a', dir);
  h.peers.connected = ['a1'];
  h.peers.quorumOk = false;
  t.equal(await h.keeper.step(), 'unconfirmed');
  t.same(h.keeper.status(), { version: 1, agents: ['a1'], registrar: 'c-a', confirmed: false }, 'counted with, but not built on');
  h.peers.connected = ['a1', 'a2'];
  t.equal(await h.keeper.step(), 'unconfirmed', 'still not confirmed: a2 waits');
  t.equal(h.keeper.registry().version, 1);
  h.peers.quorumOk = true;
  await h.keeper.step();
  t.same(h.keeper.status(), { version: 2, agents: ['a1', 'a2'], registrar: 'c-a', confirmed: true });
  const spec = (await h.store.get(REGISTRY_KEY))!.value!.spec as { generation: number };
  t.equal(spec.generation, 4, 'version 1 was rewritten (generations 2 and 3) before version 2');
});

t.test('after a restart the registrar re-confirms what it holds first', async (t) => {
  const dir = t.testdir();
  const store = await Store.open({ path: join(dir, 'c-a'), member: 'c-a', strategy: 'Manual', systemRecords: SYSTEM_RECORD_SCHEMAS });
  await store.apply({ apiVersion: 'novaedge.io/v1alpha1', kind: 'FederationAgentRegistry', metadata: { name: 'agents', namespace: 'novaedge-system' },
    spec: { version: 3, agents: ['a1', 'a2', 'a3'], generation: 3, writtenBy: 'c-a' } }, { system: true });
  await store.close();
  const h = await harness(t, 'c-a', dir);
  t.same(h.keeper.status(), { version: 3, agents: ['a1', 'a2', 'a3'], registrar: 'c-a', confirmed: false }, 'loaded at start');
  h.peers.connected = ['a1', 'a2', 'a3', 'a4'];
  await h.keeper.step();
  t.equal(h.confirmed.length, 2, 'one re-confirmation, then the change');
  t.same(h.keeper.status().agents, ['a1', 'a2', 'a3', 'a4']);
  t.equal(h.keeper.status().version, 4);
});

t.test('an agent away past the expiry is removed; a present or leased one is not', async (t) => {
  const h = await harness(t, 'c-a', t.testdir());
  h.peers.connected = ['a1', 'a2'];
  await h.keeper.step();
  h.peers.connected = ['a1'];
  h.clock.now += 4_000;
  t.equal(await h.keeper.step(), 'idle', 'a2 away 4 s of 5');
  h.clock.now += 1_000;
  h.peers.leased = ['a2'];
  t.equal(await h.keeper.step(), 'still_present', 'a lease counted now is presence');
  h.peers.leased = [];
  t.equal(await h.keeper.step(), 'idle');
  t.same(h.keeper.status().agents, ['a1'], 'a2 removed after 5 s of absence');
  t.equal(h.keeper.status().version, 3);
});

t.test('another controller never proposes, and adopts the replicated registry', async (t) => {
  const dir = t.testdir();
  const a = await harness(t, 'c-a', dir);
  const b = await harness(t, 'c-b', dir);
  t.notOk(b.keeper.isRegistrar);
  b.peers.connected = ['a9'];
  t.equal(await b.keeper.step(), 'not_registrar');
  t.equal(await b.store.getRecord(REGISTRY_KEY), undefined);
  a.peers.connected = ['a1'];
  await a.keeper.step();
  await b.store.applyRemote((await a.store.getRecord(REGISTRY_KEY))!, { source: 'c-a' });
  for (let i = 0; i < 100 && b.keeper.registry().version === 0; i++) await new Promise((r) => setTimeout(r, 5));
  t.same(b.keeper.status(), { version: 1, agents: ['a1'], registrar: 'c-a', confirmed: false });
  t.same(await b.store.conflicts(), []);
});

t.test('live membership: the registry counts by the record\'s voters, both sets after a voter change, and only a voter registrar proposes', async (t) => {
  const counted = {
    config: quorumConfig({ mode: 'AgentAssisted', self: 'c-a', controllers: ['c-a', 'c-b', 'c-c'], leaseMs: 1000, driftMarginMs: 100, agentAbsenceExpiryMs: 5_000 }),
    priorControllers: ['c-a', 'c-b'] as readonly string[] | undefined,
    voter: true,
  };
  const h = await harness(t, 'c-a', t.testdir(), { counted: () => counted });
  h.peers.connected = ['a1', 'c-c'];
  h.peers.reached = ['c-a', 'c-c'];
  // c-c was promoted: c-a and c-c are 20 of 30 by the voters, but 10 of 20 by the voters before.
  t.equal(await h.keeper.step(), 'no_quorum', 'the voters before the change count too');
  counted.priorControllers = undefined;
  t.equal(await h.keeper.step(), 'idle', 'finished: 20 of 30 is quorum');
  t.same(h.keeper.status().agents, ['a1'], 'c-c, a controller of the record, is never registered as an agent');
  counted.voter = false;
  h.peers.connected = ['a1', 'a2'];
  t.equal(await h.keeper.step(), 'not_registrar', 'a registrar that is no longer a voter proposes nothing');
});

t.test('live membership: no registry change while a membership change is decided, joint or settling; versions carry the epoch', async (t) => {
  const counted = {
    config: quorumConfig({ mode: 'AgentAssisted', self: 'c-a', controllers: CONTROLLERS, leaseMs: 1000, driftMarginMs: 100, agentAbsenceExpiryMs: 5_000 }),
    priorControllers: undefined as readonly string[] | undefined, voter: true, epoch: 3, hold: 'a membership change for epoch 4 is being decided' as string | undefined,
  };
  const h = await harness(t, 'c-a', t.testdir(), { counted: () => counted });
  h.peers.connected = ['a1'];
  t.equal(await h.keeper.step(), 'membership_change');
  t.equal(h.keeper.registry().version, 0, 'nothing registered meanwhile');
  counted.hold = undefined;
  t.equal(await h.keeper.step(), 'idle');
  t.equal(h.keeper.registry().version, 1);
  t.equal(h.keeper.epoch(), 3, 'the version carries the registrar\'s membership epoch');
  t.match((await h.store.get(REGISTRY_KEY))!.value!.spec, { version: 1, epoch: 3 });
});
