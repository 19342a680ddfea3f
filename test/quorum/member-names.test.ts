// Member names index the quorum tables, and any DNS-1123 label is a member name: "constructor" is
// one, and agent names reach the lease table before anyone validates them. Property: every table
// behaves the same when members are named like Object.prototype keys ("constructor", "__proto__",
// "toString", ...) as when they are named plainly — the same inputs under a renaming give the same
// outputs under that renaming.
import t from 'tap';
import fc from 'fast-check';
import { decideRegistryChange, type AgentRegistry } from '../../quorum/agent-registry.ts';
import { ControllerContacts } from '../../quorum/controller-contacts.ts';
import { LeaseTable } from '../../quorum/lease-table.ts';
import { quorumConfig } from '../../quorum/quorum-config.ts';
import { tally } from '../../quorum/tally.ts';
import { check, runs } from '../helpers/fc-run.ts';

const TRICKY = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
const PLAIN = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
const OTHERS = ['a1', 'a2'];
const NAMES = [...TRICKY, ...OTHERS];
const rename = (s: string): string => (TRICKY.includes(s) ? PLAIN[TRICKY.indexOf(s)]! : s);
// Each run reports names through `back` (the renaming for the tricky run, the identity for the plain
// one) and sorts name lists after that, so the two reports are comparable as they are.
const same = (s: string): string => s;
const names = (v: string[], back: (s: string) => string): string[] => v.map(back).sort();

t.test('LeaseTable: names such as constructor and __proto__ are agents like any other', async (t) => {
  const agent = fc.nat({ max: NAMES.length - 1 });
  const op = fc.oneof(
    fc.record({ op: fc.constant('send' as const), agent, dtMs: fc.nat({ max: 300 }) }),
    fc.record({ op: fc.constant('grant' as const), agent, pick: fc.nat({ max: 4 }), durationMs: fc.integer({ min: -1, max: 2_000 }), dtMs: fc.nat({ max: 300 }) }),
    fc.record({ op: fc.constant('end' as const), agent, pick: fc.nat({ max: 4 }) }),
    fc.record({ op: fc.constant('prune' as const), dtMs: fc.nat({ max: 1_000 }) }),
    fc.record({ op: fc.constant('forget' as const), agent }),
  );
  check(t, fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 2, max: NAMES.length }), (ops, maxAgents) => {
    const run = (agents: readonly string[], back: (s: string) => string): unknown[] => {
      const lt = new LeaseTable({ leaseMs: 1_000, driftMarginMs: 20, maxAgents, incarnation: 'i1' });
      const out: unknown[] = [];
      let now = 0;
      for (const o of ops) {
        if ('dtMs' in o) now += o.dtMs;
        const name = 'agent' in o ? agents[o.agent]! : '';
        if (o.op === 'send') out.push(lt.requestSent(name, now));
        else if (o.op === 'grant') {
          const pending = lt.pendingRequests(name);
          out.push(lt.grantReceived(name, pending[o.pick]?.requestId ?? `i1/${o.pick}`, o.durationMs, now));
        } else if (o.op === 'end') out.push(lt.requestEnded(name, lt.pendingRequests(name)[o.pick]?.requestId ?? 'none'));
        else if (o.op === 'prune') lt.prune(now);
        else lt.forget(name);
        out.push(names(lt.countedAgents(now), back), lt.size,
          agents.map((n) => [lt.counts(n, now), lt.validUntilMs(n) ?? null, lt.pendingRequests(n)]));
      }
      return out;
    };
    const tricky = JSON.stringify(run(NAMES, rename));
    const plain = JSON.stringify(run(NAMES.map(rename), same));
    if (tricky !== plain) throw new Error(`outputs differ:\n${tricky}\n${plain}`);
    return true;
  }), runs(300));
});

t.test('ControllerContacts: a controller named constructor is reached like any other', async (t) => {
  const op = fc.record({ who: fc.constantFrom(...NAMES, 'stranger'), dtMs: fc.nat({ max: 800 }), kind: fc.constantFrom('opened' as const, 'proven' as const, 'closed' as const) });
  check(t, fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
    const run = (to: (s: string) => string, back: (s: string) => string): unknown[] => {
      const controllers = NAMES.slice(0, 5).map(to);
      const c = new ControllerContacts({ self: controllers[0]!, controllers, windowMs: 1_000 });
      const out: unknown[] = [];
      let now = 0;
      for (const o of ops) {
        now += o.dtMs;
        const told = o.kind === 'opened' ? c.linkOpened(to(o.who), now) : o.kind === 'proven' ? c.proven(to(o.who), now, now) : c.linkClosed(to(o.who), now);
        out.push(told, names(c.reachable(now), back), NAMES.map((n) => c.lastContactMs(to(n)) ?? null), c.nextExpiryMs(now) ?? null);
      }
      return out;
    };
    const tricky = JSON.stringify(run(same, rename));
    const plain = JSON.stringify(run(rename, same));
    if (tricky !== plain) throw new Error(`outputs differ:\n${tricky}\n${plain}`);
    return true;
  }), runs(300));
});

t.test('tally and registry changes: agents and a controller named like Object.prototype keys count like others', async (t) => {
  // Controllers must be member names: of the Object.prototype names only "constructor" is one.
  const sub = fc.subarray(NAMES);
  check(t, fc.property(sub, sub, sub, fc.constantFrom(...NAMES), fc.boolean(), (reach, leased, registered, agent, add) => {
    const run = (r: (s: string) => string, back: (s: string) => string): unknown[] => {
      const controllers = ['constructor', 'c1', 'c2'].map(r);
      const config = quorumConfig({ mode: 'AgentAssisted', self: controllers[0]!, controllers, leaseMs: 1000, driftMarginMs: 100, agentAbsenceExpiryMs: 60_000, minAgentsForQuorum: 0 });
      const input = { reachableControllers: [...reach.map(r), ...controllers.slice(1)], leasedAgents: leased.map(r), registeredAgents: new Set(registered.map(r)) };
      const registry: AgentRegistry = { version: 1, agents: new Set(registered.map(r)) };
      const change = decideRegistryChange(registry, { op: add ? 'add' : 'remove', agent: r(agent) }, {
        config, reachableControllers: input.reachableControllers, leasedAgents: input.leasedAgents, nowMs: 100_000, lastSeenMs: undefined, startedAtMs: 0,
      });
      const summary = change.accepted ? { accepted: true, agents: names([...change.registry.agents], back) } : { accepted: false, reason: change.reason };
      return [tally(config, input), summary];
    };
    // Renaming maps a name that is not a member name ("toString") to one that is ("n2"): compare
    // only where both are valid, and check the invalid ones are refused as such.
    const only = (s: string): string => (s === 'constructor' ? 'n0' : s);
    const tricky = run(same, only);
    if (!/^[a-z0-9-]+$/.test(agent)) {
      const refused = tricky[1] as { accepted: boolean; reason?: string };
      if (refused.accepted || refused.reason !== 'invalid_name') throw new Error(`${agent} accepted as an agent name`);
      return true;
    }
    // "constructor" -> "n0", everything else kept: both are member names.
    const a = JSON.stringify(tricky);
    const b = JSON.stringify(run(only, same));
    if (a !== b) throw new Error(`outputs differ:\n${a}\n${b}`);
    return true;
  }), runs(400));
});
