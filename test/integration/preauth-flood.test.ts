// Pre-auth flood against a controller daemon: many identities with no certificate connect, open
// every federation protocol on their connections and write into the streams before authenticating,
// and reconnect as soon as they are closed. Nothing of theirs may be buffered: the daemon's resident
// memory grows by at most UNAUTH_RSS_GROWTH_MAX_BYTES (issue 17 item 4: ≤ 64 MiB from any number of
// unauthenticated peers; before the fix each connection could park 8 streams × 3 protocols × 256 KiB),
// and afterwards the daemon still serves its real peer.
import t from 'tap';
import { replicationProtocol } from '../../node/replication/protocol-ids.ts';
import { preAuthFlood } from '../helpers/preauth-flood.ts';
import { rssBytes, startVictimPair } from '../helpers/victim-pair.ts';
import { waitFor } from '../helpers/wait-for.ts';

const UNAUTH_RSS_GROWTH_MAX_BYTES = 64 * 1024 * 1024;
const IDENTITIES = 24;
const FLOOD_MS = 8_000;
const MIB = 1024 * 1024;

t.test('unauthenticated peers flooding every protocol: bounded memory, the daemon unharmed', async (t) => {
  const { pki, victim, peer, victimAddr, write, replicated } = await startVictimPair(t, 'flood-fed');

  const pid = victim.child.pid!;
  const samples: number[] = [];
  for (let i = 0; i < 10; i++) {
    samples.push(rssBytes(pid));
    await new Promise((r) => setTimeout(r, 50));
  }
  const baseline = Math.max(...samples);
  let peak = baseline;
  const sampler = setInterval(() => { try { peak = Math.max(peak, rssBytes(pid)); } catch { /* exited */ } }, 50);
  t.teardown(() => clearInterval(sampler));

  const fid = pki.fed.id;
  const report = await preAuthFlood({
    target: victimAddr,
    federationId: fid,
    protocols: ['push', 'anti-entropy', 'config-stream'].map((p) => replicationProtocol(fid, p as Parameters<typeof replicationProtocol>[1])),
    identities: IDENTITIES,
    streamsPerProtocol: 8,
    bytesPerStream: 256 * 1024,
    durationMs: FLOOD_MS,
    // Each identity connects at most every 4 s: what is measured is what the victim keeps for
    // unauthenticated peers, not the (bounded) cost of accepting connections at a high rate.
    minCycleMs: 4_000,
  });
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(pid));
  const growth = peak - baseline;
  const lived = [...report.lifetimesMs].sort((a, b) => a - b);
  const { lifetimesMs: _, ...counts } = report;
  t.comment(`flood: ${JSON.stringify(counts)}, connections lived p50 ${(lived[lived.length >> 1] ?? NaN).toFixed(0)} ms; victim RSS ${(baseline / MIB).toFixed(0)} MiB -> peak ${(peak / MIB).toFixed(0)} MiB (+${(growth / MIB).toFixed(1)} MiB, bound ${UNAUTH_RSS_GROWTH_MAX_BYTES / MIB} MiB)`);
  t.ok(report.connections >= IDENTITIES, 'the flooders got connections');
  t.ok(growth <= UNAUTH_RSS_GROWTH_MAX_BYTES, `RSS growth ${(growth / MIB).toFixed(1)} MiB ≤ ${UNAUTH_RSS_GROWTH_MAX_BYTES / MIB} MiB`);

  await write('after');
  await waitFor('a write after the flood reaches the peer', () => replicated('after'), { timeoutMs: 10_000, intervalMs: 100 });
  t.same(await victim.stop('SIGTERM'), { code: 0, signal: null }, 'the victim stops cleanly');
  await peer.stop('SIGTERM');
});
