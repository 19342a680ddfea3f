// Member names index the membership tables, and any DNS-1123 label is a member name: "constructor"
// is one, and heartbeats carry names (members, reachable lists, rttMs keys) that are JSON keys.
// Property: the tables behave the same when a member is named like an Object.prototype key as when
// it is named plainly (the same inputs under a renaming give the same outputs under that renaming),
// and names that are not member names ("toString", "__proto__") are refused the same way throughout.
import t from 'tap';
import fc from 'fast-check';
import { ControllerSelector } from '../../membership/controller-selector.ts';
import { PeerTable } from '../../membership/peer-table.ts';
import { check, runs } from '../helpers/fc-run.ts';
import { heartbeat, PEER_IDS } from '../helpers/heartbeats.ts';

const hc = { intervalMs: 100, timeoutMs: 40, failureThreshold: 3, successThreshold: 1 };
const INVALID = ['__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
const NAMES = ['constructor', 'c1', 'c2', ...INVALID];
// "n0" sorts where "constructor" does among the valid names, so sorted outputs stay comparable.
const toPlain = (s: string): string => (s === 'constructor' ? 'n0' : s);
const same = (s: string): string => s;

// Every string (and key) that is exactly a name, renamed; messages are left out of the outputs.
function mapNames(v: unknown, r: (s: string) => string): unknown {
  if (typeof v === 'string') return r(v);
  if (Array.isArray(v)) return v.map((x) => mapNames(x, r));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [r(k), mapNames(x, r)]));
  return v;
}

t.test('PeerTable: a member named constructor is a member like any other', async (t) => {
  const name = fc.nat({ max: NAMES.length - 1 });
  const op = fc.oneof(
    fc.record({
      op: fc.constant('heartbeat' as const), who: name, peer: fc.nat({ max: 1 }), dtMs: fc.nat({ max: 150 }),
      reachable: fc.subarray([0, 1, 2]), rtt: fc.option(fc.subarray([0, 1, 2, 3, 4])), leaving: fc.boolean(),
    }),
    fc.record({ op: fc.constant('tick' as const), dtMs: fc.nat({ max: 200 }) }),
    fc.record({ op: fc.constant('rtt' as const), who: name, ms: fc.integer({ min: -1, max: 100 }) }),
    fc.record({ op: fc.constant('leave' as const), who: name }),
  );
  check(t, fc.property(fc.array(op, { maxLength: 50 }), (ops) => {
    const run = (r: (s: string) => string): unknown[] => {
      const table = new PeerTable({ self: 'local', healthCheck: hc, membersMax: 3 });
      const out: unknown[] = [];
      let now = 1_000;
      let wall = 1_700_000_000_000;
      for (const o of ops) {
        if ('dtMs' in o) now += o.dtMs;
        let res;
        if (o.op === 'heartbeat') {
          const member = r(NAMES[o.who]!);
          const rttMs = o.rtt === null ? undefined : Object.fromEntries(o.rtt.map((i) => [r(NAMES[i]!), 5 + i]));
          // JSON text, as heartbeats arrive: "__proto__" keys become own properties.
          const hb = JSON.parse(JSON.stringify(heartbeat(member, ++wall, {
            peerId: PEER_IDS[o.peer]!, reachable: o.reachable.map((i) => r(NAMES[i]!)), ...(rttMs === undefined ? {} : { rttMs }),
            ...(o.leaving ? { leaving: true } : {}),
          })));
          res = table.heartbeat(hb, now);
        } else if (o.op === 'tick') res = table.tick(now);
        else if (o.op === 'rtt') res = table.rtt(r(NAMES[o.who]!), o.ms, now);
        else res = table.leave(r(NAMES[o.who]!), now);
        const views = table.peers().map((v) => ({ ...v, reportedRttMs: v.reportedRttMs === undefined ? null : { ...v.reportedRttMs } }));
        // A lookup of an absent name must find nothing, not Object.prototype's member.
        const lookups = NAMES.map((n) => {
          const v = table.get(r(n))?.reportedRttMs?.[r('constructor')];
          return typeof v === 'number' ? v : typeof v;
        });
        out.push(res.events, res.rejected?.reason ?? null, views, lookups, table.stats());
      }
      return out;
    };
    const tricky = JSON.stringify(mapNames(run(same), toPlain));
    const plain = JSON.stringify(run(toPlain));
    if (tricky !== plain) throw new Error(`outputs differ:\n${tricky}\n${plain}`);
    return true;
  }), runs(300));
});

t.test('ControllerSelector: controllers whose ids are Object.prototype names are chosen like any other', async (t) => {
  const TRICKY = ['constructor', '__proto__', 'toString'];
  const PLAIN = ['p0', 'p1', 'p2'];
  const toP = (s: string): string => (TRICKY.includes(s) ? PLAIN[TRICKY.indexOf(s)]! : s);
  const op = fc.record({ who: fc.nat({ max: 2 }), ok: fc.boolean(), rttMs: fc.nat({ max: 50 }), dtMs: fc.nat({ max: 600 }), tick: fc.boolean() });
  check(t, fc.property(fc.array(op, { maxLength: 60 }), fc.array(fc.nat({ max: 2 }), { minLength: 3, maxLength: 3 }), (ops, prio) => {
    const run = (ids: string[]): unknown[] => {
      const s = new ControllerSelector(ids.map((id, i) => ({ id, priority: prio[i]! })), {
        failureThreshold: 2, timeoutMs: 1_000, recoveryDelayMs: 1_500, latencyAware: true, startGraceMs: 300,
      }, 0);
      const out: unknown[] = [];
      let now = 0;
      for (const o of ops) {
        now += o.dtMs;
        if (o.ok) s.checkOk(ids[o.who]!, o.rttMs, now); else s.checkFailed(ids[o.who]!, now);
        if (o.tick) out.push(s.tick(now) ?? null);
        out.push(s.current ?? null, s.view(now));
      }
      return out;
    };
    const tricky = JSON.stringify(mapNames(run(TRICKY), toP));
    const plain = JSON.stringify(run(PLAIN));
    if (tricky !== plain) throw new Error(`outputs differ:\n${tricky}\n${plain}`);
    return true;
  }), runs(300));
});
