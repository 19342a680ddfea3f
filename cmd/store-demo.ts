// `npm run demo:store`: two members' durable stores side by side, exchanging records
// the way replication will, showing writes, a concurrent edit under the Merge strategy, a Manual
// conflict resolved, Merkle roots agreeing, and data surviving a restart (run it twice).
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Store, type StoredRecord, type StrategyName } from '../storage/index.ts';

const dataDir = resolve(process.env.NOVAEDGE_DATA ?? 'data/demo');
mkdirSync(dataDir, { recursive: true });

function route(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec };
}

// What push replication will do over libp2p: hand the written records to the other member.
async function exchange(to: Store, records: StoredRecord[]): Promise<void> {
  for (const r of records) await to.applyRemote(r);
}

async function pair(strategy: StrategyName): Promise<[Store, Store]> {
  const open = (m: string) => Store.open({ path: join(dataDir, `${strategy.toLowerCase()}-${m}`), member: m, strategy });
  return [await open('us-west'), await open('eu-west')];
}

const [usM, euM] = await pair('Merge');
console.log(`data under ${dataDir}: us-west holds ${usM.size} records, eu-west ${euM.size}`);
const base = await usM.apply(route('api', { hostnames: ['api.example.com'], timeoutMs: 1000, retries: 1 }));
await exchange(euM, [base.record]);
console.log(`\n[Merge] ProxyRoute/default/api written on us-west, replicated to eu-west`);
// Concurrent edits to different fields: both survive. To the same field: higher stamp wins, flagged.
const a = await usM.apply(route('api', { hostnames: ['api.example.com'], timeoutMs: 2500, retries: 1 }));
const b = await euM.apply(route('api', { hostnames: ['api.example.com', 'api.eu.example.com'], timeoutMs: 1000, retries: 3 }));
await exchange(euM, [a.record]);
await exchange(usM, [b.record]);
const merged = (await usM.get('ProxyRoute/default/api'))!;
console.log(`  concurrent edits merged field by field: ${JSON.stringify(merged.value!.spec)}`);
console.log(`  Merkle roots: us-west ${usM.merkle.root().slice(0, 16)}  eu-west ${euM.merkle.root().slice(0, 16)}`);

const [usX, euX] = await pair('Manual');
const x0 = await usX.apply(route('checkout', { backend: 'checkout-v1' }));
await exchange(euX, [x0.record]);
const x1 = await usX.apply(route('checkout', { backend: 'checkout-v2' }));
const x2 = await euX.apply(route('checkout', { backend: 'checkout-eu' }));
await exchange(euX, [x1.record]);
await exchange(usX, [x2.record]);
console.log(`\n[Manual] concurrent edits of ProxyRoute/default/checkout are held for an operator:`);
for (const c of await usX.conflicts()) {
  console.log(`  ${c.key}: local ${JSON.stringify(c.local.value && (c.local.value as { spec: unknown }).spec)} (${c.local.origin})` +
    `, remote ${JSON.stringify(c.remote.map((r) => (r.value as { spec: unknown }).spec))} (${c.remote.map((r) => r.origin)})`);
}
const fixed = await usX.resolve('ProxyRoute/default/checkout', 'remote');
await exchange(euX, [fixed.record]);
console.log(`  resolved on us-west with --keep remote; eu-west serves ${JSON.stringify((await euX.get('ProxyRoute/default/checkout'))!.value!.spec)}`);
console.log(`  conflicts left: us-west ${(await usX.conflicts()).length}, eu-west ${(await euX.conflicts()).length}`);

for (const s of [usM, euM, usX, euX]) await s.close();
console.log(`\nDone. Run it again: the stores reopen with their data. Tests: npm test`);
