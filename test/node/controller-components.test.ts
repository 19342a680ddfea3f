// ControllerNode.start takes what it runs on from options.components (issue 18): the store's
// database from components.openStoreDb (the default one makes <dataDir> private and opens LevelDB
// in it; an injected one gets no directory at all: the simulation has none), and the same resolved
// components reach membership, replication and the services (one clock for every part).
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLevel } from 'memory-level';
import type { StoreDb, StoreDbFactory } from '../../node/components.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { tempDir } from '../helpers/temp-dir.ts';

t.setTimeout(60_000);

const route = { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'api' }, spec: { host: 'api.example' } };

t.test('an injected store database: no data directory is made, the node stores in the injected one', async (t) => {
  const root = await tempDir(t, 'nvcomp-');
  const dataDir = join(root, 'never-made');
  const fed = await makeFederation('comp-fed');
  const [c] = await planMembers(fed, [{ name: 'c1', role: 'controller' }]);
  const db = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const asked: Array<{ dataDir: string; writeBufferBytes: number }> = [];
  const openStoreDb: StoreDbFactory = async (dir, o) => {
    asked.push({ dataDir: dir, writeBufferBytes: o.writeBufferBytes });
    return db as unknown as StoreDb;
  };
  let wallReads = 0;
  const wallClock = (): number => { wallReads++; return Date.now(); };
  const node = await ControllerNode.start({
    membership: memberConfig(fed, c!, []),
    replication: { dataDir, controllers: ['c1'] },
  }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION, components: { openStoreDb, wallClock } });
  t.teardown(() => node.stop());

  t.same(asked.map((a) => a.dataDir), [dataDir], 'the database was asked for once, for the configured dataDir');
  t.notOk(existsSync(dataDir), 'no directory was made for an injected database');
  t.equal(node.components.openStoreDb, openStoreDb, 'the node keeps the components it was given');
  t.equal(node.membership.components.wallClock, wallClock, 'membership runs on the same wall clock');
  t.equal(node.membership.components.timers, node.components.timers, 'and the same timers');

  const before = wallReads;
  const res = await node.apply(route);
  t.ok(wallReads > before, 'the write was stamped with the injected wall clock');
  t.match((await node.get(res.view.key))?.value, { spec: { host: 'api.example' } });
  let keys = 0;
  for await (const _ of db.keys()) keys++;
  t.ok(keys > 0, `the write is in the injected database (${keys} keys)`);
});

t.test('the default store database makes the data directory (0700) and opens LevelDB in <dataDir>/store', async (t) => {
  const root = await tempDir(t, 'nvcomp-');
  const dataDir = join(root, 'made');
  const fed = await makeFederation('comp-fed2');
  const [c] = await planMembers(fed, [{ name: 'c1', role: 'controller' }]);
  const node = await ControllerNode.start({
    membership: memberConfig(fed, c!, []),
    replication: { dataDir, controllers: ['c1'] },
  }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
  t.teardown(() => node.stop());
  t.ok(existsSync(join(dataDir, 'store')), 'LevelDB in <dataDir>/store');
  await node.apply(route);
});
