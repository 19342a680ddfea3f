// Invalid heartbeats are refused with a reason and the offending field, counted, and change nothing.

import t from 'tap';
import { DEFAULT_HEARTBEAT_LIMITS, validateHeartbeat } from '../../membership/heartbeat.ts';
import { PeerTable } from '../../membership/peer-table.ts';
import { heartbeat } from '../helpers/heartbeats.ts';

const good = heartbeat('c1', 1_700_000_000_000, { reachable: ['c2', 'a1'], quorum: { haveQuorum: true, votes: 2, threshold: 2 } });

const bad: Array<[string, unknown, string]> = [
  ['null', null, ''],
  ['an array', [good], ''],
  ['a string', JSON.stringify(good), ''],
  ['a class instance', Object.assign(new (class X {})(), good), ''],
  ['an unknown field', { ...good, extra: 1 }, 'extra'],
  ['a __proto__ key', JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(good).slice(1)}`), '__proto__'],
  ['no member', { ...good, member: undefined }, 'member'],
  ['an upper-case member', { ...good, member: 'C1' }, 'member'],
  ['a 64-char member', { ...good, member: 'a'.repeat(64) }, 'member'],
  ['a member with a dot', { ...good, member: 'c1.example' }, 'member'],
  ['a bad peer ID', { ...good, peerId: '0OIl' }, 'peerId'],
  ['a huge peer ID', { ...good, peerId: '1'.repeat(129) }, 'peerId'],
  ['an unknown role', { ...good, role: 'admin' }, 'role'],
  ['an empty region', { ...good, region: '' }, 'region'],
  ['a region with spaces', { ...good, region: 'West Europe' }, 'region'],
  ['a numeric zone', { ...good, zone: 3 }, 'zone'],
  ['an HLC of another member', { ...good, hlc: { ...good.hlc, member: 'c2' } }, 'hlc'],
  ['an HLC with a negative wall', { ...good, hlc: { ...good.hlc, wallMs: -1 } }, 'hlc'],
  ['an HLC with a fraction', { ...good, hlc: { ...good.hlc, logical: 0.5 } }, 'hlc'],
  ['an HLC with extra keys', { ...good, hlc: { ...good.hlc, x: 1 } }, 'hlc'],
  ['an upper-case Merkle root', { ...good, merkleRoot: 'AB' }, 'merkleRoot'],
  ['a 129-char Merkle root', { ...good, merkleRoot: 'a'.repeat(129) }, 'merkleRoot'],
  ['reachable not a list', { ...good, reachable: 'c2' }, 'reachable'],
  ['reachable with a bad name', { ...good, reachable: ['c2', 'Bad Name'] }, 'reachable'],
  ['reachable with duplicates', { ...good, reachable: ['c2', 'c2'] }, 'reachable'],
  ['reachable over its bound', { ...good, reachable: Array.from({ length: DEFAULT_HEARTBEAT_LIMITS.reachableMax + 1 }, (_, i) => `m${i}`) }, 'reachable'],
  ['a negative agent count', { ...good, agentCount: -1 }, 'agentCount'],
  ['an agent count over its bound', { ...good, agentCount: DEFAULT_HEARTBEAT_LIMITS.agentCountMax + 1 }, 'agentCount'],
  ['an agent count as a string', { ...good, agentCount: '3' }, 'agentCount'],
  ['a quorum view that is a list', { ...good, quorum: [] }, 'quorum'],
  ['a quorum view with an extra field', { ...good, quorum: { ...good.quorum, leader: 'c1' } }, 'quorum.leader'],
  ['a quorum view without haveQuorum', { ...good, quorum: { votes: 1, threshold: 2 } }, 'quorum.haveQuorum'],
  ['a quorum view with NaN votes', { ...good, quorum: { ...good.quorum, votes: Number.NaN } }, 'quorum.votes'],
  ['a quorum view with an infinite threshold', { ...good, quorum: { ...good.quorum, threshold: Infinity } }, 'quorum.threshold'],
  ['leaving as a string', { ...good, leaving: 'yes' }, 'leaving'],
  ['rttMs as a list', { ...good, rttMs: [['c2', 1]] }, 'rttMs'],
  ['rttMs as a number', { ...good, rttMs: 3 }, 'rttMs'],
  ['rttMs as null', { ...good, rttMs: null }, 'rttMs'],
  ['rttMs as a Map', { ...good, rttMs: new Map([['c2', 1]]) }, 'rttMs'],
  ['rttMs over its bound', { ...good, rttMs: Object.fromEntries(Array.from({ length: DEFAULT_HEARTBEAT_LIMITS.reachableMax + 1 }, (_, i) => [`m${i}`, 1])) }, 'rttMs'],
  ['rttMs with a bad name', { ...good, rttMs: { c2: 1, 'Bad Name': 2 } }, 'rttMs'],
  ['rttMs with an empty name', { ...good, rttMs: { '': 2 } }, 'rttMs'],
  ['rttMs with a __proto__ key', { ...good, rttMs: JSON.parse('{"__proto__": 1}') }, 'rttMs'],
  ['rttMs with a negative value', { ...good, rttMs: { c2: -0.5 } }, 'rttMs'],
  ['rttMs with NaN', { ...good, rttMs: { c2: Number.NaN } }, 'rttMs'],
  ['rttMs with Infinity', { ...good, rttMs: { c2: Infinity } }, 'rttMs'],
  ['rttMs with a huge value', { ...good, rttMs: { c2: DEFAULT_HEARTBEAT_LIMITS.rttMsMax + 1 } }, 'rttMs'],
  ['rttMs with a string value', { ...good, rttMs: { c2: '12' } }, 'rttMs'],
  ['rttMs with a null value (NaN after JSON)', JSON.parse(JSON.stringify({ ...good, rttMs: { c2: Number.NaN } })), 'rttMs'],
  ['rttMs with a nested object', { ...good, rttMs: { c2: { smoothedMs: 1 } } }, 'rttMs'],
];

// Valid `rttMs` reports: what goes in comes out, as a fresh object without a prototype.
const goodRtt: Array<[string, Record<string, number>]> = [
  ['an empty report', {}],
  ['one controller', { c2: 0.4 }],
  ['zero and the bound', { c2: 0, c3: DEFAULT_HEARTBEAT_LIMITS.rttMsMax }],
  ['a member named like a prototype key', { constructor: 12.5, 'to-string': 3 }],
  ['exactly reachableMax entries', Object.fromEntries(Array.from({ length: DEFAULT_HEARTBEAT_LIMITS.reachableMax }, (_, i) => [`m${i}`, i]))],
];

t.test('the reference heartbeat is valid and copied, not aliased', async (t) => {
  const r = validateHeartbeat(good);
  if (!r.ok) throw new Error(`reference heartbeat refused: ${r.field} ${r.detail}`);
  t.same(r.heartbeat, good);
  t.not(r.heartbeat.reachable, good.reachable, 'reachable is a copy');
  t.not(r.heartbeat.hlc, good.hlc, 'hlc is a copy');
});

t.test('valid rttMs reports are accepted and copied without a prototype', async (t) => {
  for (const [what, rttMs] of goodRtt) {
    const r = validateHeartbeat({ ...good, rttMs });
    if (!r.ok) {
      t.fail(`${what}: refused (${r.field}: ${r.detail})`);
      continue;
    }
    t.same({ ...r.heartbeat.rttMs }, rttMs, `${what}: same entries`);
    t.not(r.heartbeat.rttMs, rttMs, `${what}: a copy`);
    t.equal(Object.getPrototypeOf(r.heartbeat.rttMs), null, `${what}: no prototype`);
  }
  const none = validateHeartbeat(good);
  t.ok(none.ok && !('rttMs' in none.heartbeat), 'absent stays absent');
  const missing = validateHeartbeat({ ...good, rttMs: { c2: 1 } });
  t.equal(missing.ok ? missing.heartbeat.rttMs?.constructor : 'refused', undefined, 'an absent "constructor" entry reads as undefined');
});

t.test('each invalid heartbeat is refused, names its field, is counted, and leaves the table unchanged', async (t) => {
  const table = new PeerTable({ self: 'local', healthCheck: { intervalMs: 100, timeoutMs: 40, failureThreshold: 3, successThreshold: 1 } });
  let n = 0;
  for (const [what, value, field] of bad) {
    const direct = validateHeartbeat(value);
    t.equal(direct.ok, false, `${what}: refused by the validator`);
    if (!direct.ok) t.equal(direct.field, field, `${what}: field "${field}"`);
    const r = table.heartbeat(value, 1000 + n);
    n += 1;
    t.equal(r.rejected?.reason, 'invalid', `${what}: refused by the table`);
    t.same(r.events, [], `${what}: no events`);
  }
  t.equal(table.stats().rejected.invalid, bad.length, 'every refusal counted');
  t.equal(table.stats().members, 0, 'nothing entered the table');
  t.equal(table.stats().accepted, 0);
});

t.test('validation never throws on hostile shapes', async (t) => {
  const hostile: unknown[] = [
    undefined, 0, 1n, Symbol('x'), () => 1, new Map(), new Uint8Array(3),
    Object.create(null),
    { ...good, get member(): string { throw new Error('getter'); } },
  ];
  for (const h of hostile) {
    let r: ReturnType<typeof validateHeartbeat> | undefined;
    try {
      r = validateHeartbeat(h);
    } catch (e) {
      // Getters can only come from in-process callers (JSON.parse never makes them); a throwing
      // getter propagating is acceptable, anything else is not.
      t.match(String(e), /getter/, 'only a throwing getter may throw');
      continue;
    }
    t.equal(r.ok, false, `refused: ${typeof h}`);
  }
});
