// A whole federation in one process on fake clocks: controllers (lease table + contact table), agents
// (vote state + primary), controller links, agent links, and messages in flight. Every node has its
// own monotonic clock that advances by a chosen amount per real tick (bounded rate drift). Used by the
// two-datacenter scenarios and the split-brain property; the quorum code runs unmodified: the contact
// tables are the write fence's (ControllerContacts, fed as node/controller/write-fence.ts feeds it:
// a link authenticated, a message over a direct link, a link closed), and their window is checked
// against the leases as a controller checks it at start (lease-window.ts).

import { AgentVoteState } from '../../quorum/agent-vote-state.ts';
import { ControllerContacts, contactWindowMs } from '../../quorum/controller-contacts.ts';
import { LeaseTable } from '../../quorum/lease-table.ts';
import { leaseWindowMismatch } from '../../quorum/lease-window.ts';
import type { QuorumConfig } from '../../quorum/quorum-config.ts';
import { tally, type TallyResult } from '../../quorum/tally.ts';

type Msg =
  | { kind: 'req'; c: string; a: string; id: string }
  | { kind: 'resp'; c: string; a: string; id: string; granted: boolean; durationMs: number };

interface Ctrl { cfg: QuorumConfig; table: LeaseTable; contacts: ControllerContacts }
interface Agent { vote: AgentVoteState; primary: string | undefined }

/** How the world is built. */
export interface WorldOptions {
  /** Configuration of each controller (same but for `self`). */
  config: (self: string) => QuorumConfig;
  controllers: readonly string[];
  agents: readonly string[];
  /** Registry (same on every controller); default all agents. */
  registered?: readonly string[];
  /** Initial primary of each agent; default the first controller. */
  primary?: (agent: string) => string | undefined;
  /** Start offset of each node's clock (clocks are unrelated); default 1000·index. */
  offsetMs?: (node: string, index: number) => number;
  /** Agents start past their start-up quiet period (as if running for a while); default true. */
  warmAgents?: boolean;
  /** Controller contact window; default the longest the leases allow (leaseMs − driftMarginMs). */
  contactWindowMs?: number;
}

const edge = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** The simulated federation. */
export class World {
  readonly controllers: readonly string[];
  readonly agents: readonly string[];
  readonly registered: ReadonlySet<string>;
  readonly config: (self: string) => QuorumConfig;
  readonly contactWindowMs: number | undefined;
  /** Real time, in ticks. */
  tick = 0;
  readonly clock = new Map<string, number>();
  readonly ctrl = new Map<string, Ctrl>();
  readonly agent = new Map<string, Agent>();
  readonly inflight: Msg[] = [];
  readonly #links = new Set<string>();
  readonly #lastUpTick = new Map<string, number>();
  readonly #agentLinks = new Set<string>();
  #boots = 0;

  constructor(o: WorldOptions) {
    this.controllers = o.controllers;
    this.agents = o.agents;
    this.registered = new Set(o.registered ?? o.agents);
    this.config = o.config;
    this.contactWindowMs = o.contactWindowMs;
    [...o.controllers, ...o.agents].forEach((n, i) => this.clock.set(n, o.offsetMs?.(n, i) ?? 1000 * i));
    for (const c of o.controllers) this.restartController(c);
    for (const a of o.agents) {
      const leaseMs = o.config(o.controllers[0]!).leaseMs;
      const now = this.now(a);
      this.agent.set(a, { vote: new AgentVoteState({ leaseMs, startedAtMs: o.warmAgents === false ? now : now - leaseMs }), primary: o.primary?.(a) ?? o.controllers[0] });
    }
    for (let i = 0; i < o.controllers.length; i++) for (let j = i + 1; j < o.controllers.length; j++) this.setLink(o.controllers[i]!, o.controllers[j]!, true);
    for (const a of o.agents) for (const c of o.controllers) this.setAgentLink(a, c, true);
  }

  now(node: string): number {
    return this.clock.get(node)!;
  }

  /** One real tick: every node's clock advances by `advanceMs(node)` (bounded rate drift). */
  advance(advanceMs: (node: string) => number): void {
    this.tick++;
    for (const [n, v] of this.clock) this.clock.set(n, v + advanceMs(n));
    for (const e of this.#links) this.#lastUpTick.set(e, this.tick);
    for (const [c, x] of this.ctrl) x.table.prune(this.now(c));
  }

  /**
   * The direct link a–b goes up (a connection authenticates at both ends) or down: silently (nothing
   * is told: both ends still think it open) or with a reset (both ends see it close).
   */
  setLink(a: string, b: string, up: boolean, how: 'silent' | 'reset' = 'silent'): void {
    const e = edge(a, b);
    if (up || this.#links.has(e)) this.#lastUpTick.set(e, this.tick); // up at some moment of this tick
    if (up) this.#links.add(e); else this.#links.delete(e);
    if (up) {
      this.ctrl.get(a)!.contacts.linkOpened(b, this.now(a));
      this.ctrl.get(b)!.contacts.linkOpened(a, this.now(b));
      // The clock probe each end sends when the other authenticates, answered at once in this world.
      this.beat(a, b);
      this.beat(b, a);
    } else if (how === 'reset') {
      this.ctrl.get(a)!.contacts.linkClosed(b, this.now(a));
      this.ctrl.get(b)!.contacts.linkClosed(a, this.now(b));
    }
  }

  /** True while the direct link a–b is up. */
  linkUp(a: string, b: string): boolean {
    return this.#links.has(edge(a, b));
  }

  setAgentLink(a: string, c: string, up: boolean): void {
    if (up) this.#agentLinks.add(`${a}>${c}`); else this.#agentLinks.delete(`${a}>${c}`);
  }

  agentLink(a: string, c: string): boolean {
    return this.#agentLinks.has(`${a}>${c}`);
  }

  /** True when a and b are connected by controller links up now (`withinTicks` undefined), or by links
   *  that were up at some tick in the last `withinTicks` ticks (the union graph). */
  connected(a: string, b: string, withinTicks?: number): boolean {
    const up = (e: string): boolean => this.#links.has(e) || (withinTicks !== undefined && (this.#lastUpTick.get(e) ?? -Infinity) > this.tick - withinTicks);
    const seen = new Set([a]);
    const stack = [a];
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (x === b) return true;
      for (const y of this.controllers) if (!seen.has(y) && up(edge(x, y))) { seen.add(y); stack.push(y); }
    }
    return false;
  }

  /**
   * `to` pings `from` over their direct link and gets the answer, if the link is up (relayed
   * heartbeats prove nothing). Delivery is instant in this world, so the round trip is sent and
   * answered at once.
   */
  beat(from: string, to: string): void {
    if (from !== to && this.linkUp(from, to)) this.ctrl.get(to)!.contacts.proven(from, this.now(to), this.now(to));
  }

  beatAll(): void {
    for (const a of this.controllers) for (const b of this.controllers) this.beat(a, b);
  }

  /** Controller c sends a vote request to agent a (only over an agent link that is up). */
  request(c: string, a: string): void {
    if (!this.agentLink(a, c)) return;
    const id = this.ctrl.get(c)!.table.requestSent(a, this.now(c));
    if (id !== undefined) this.inflight.push({ kind: 'req', c, a, id });
  }

  requestAll(): void {
    for (const c of this.controllers) for (const a of this.agents) this.request(c, a);
  }

  /** Delivers in-flight message k if its agent link is up now. */
  deliver(k: number): void {
    const m = this.inflight[k];
    if (m === undefined || !this.agentLink(m.a, m.c)) return;
    this.inflight.splice(k, 1);
    if (m.kind === 'req') {
      const ag = this.agent.get(m.a)!;
      const r = ag.vote.request(m.c, ag.primary, this.now(m.a));
      this.inflight.push({ kind: 'resp', c: m.c, a: m.a, id: m.id, granted: r.granted, durationMs: r.granted ? r.durationMs : 0 });
    } else if (m.granted) {
      this.ctrl.get(m.c)!.table.grantReceived(m.a, m.id, m.durationMs, this.now(m.c));
    }
  }

  /** Delivers everything deliverable now, answers included. */
  deliverAll(): void {
    for (let guard = 0; guard < 4; guard++) {
      const before = this.inflight.length;
      for (let k = this.inflight.length - 1; k >= 0; k--) this.deliver(k);
      if (this.inflight.length === 0 || this.inflight.length === before) break;
    }
  }

  drop(k: number): void {
    this.inflight.splice(k, 1);
  }

  /** One protocol round: heartbeats, vote requests, answers, and a real tick of `advanceMs` per node. */
  round(advanceMs: (node: string) => number): void {
    this.beatAll();
    this.requestAll();
    this.deliverAll();
    this.advance(advanceMs);
  }

  setPrimary(a: string, c: string | undefined): void {
    this.agent.get(a)!.primary = c;
  }

  restartAgent(a: string): void {
    const ag = this.agent.get(a)!;
    ag.vote = new AgentVoteState({ leaseMs: ag.vote.leaseMs, startedAtMs: this.now(a) });
  }

  /** A controller restarts: new tables; its peers across links that are up see the old connection
   *  reset and a new one authenticate (across links that are down they notice nothing). */
  restartController(c: string): void {
    const cfg = this.config(c);
    const windowMs = this.contactWindowMs ?? contactWindowMs(cfg);
    const mismatch = leaseWindowMismatch(cfg, windowMs);
    if (mismatch !== undefined) throw new Error(`contact window ${windowMs} ms does not fit the leases: ${JSON.stringify(mismatch)}`);
    this.ctrl.set(c, {
      cfg,
      table: new LeaseTable({ leaseMs: cfg.leaseMs, driftMarginMs: cfg.driftMarginMs, incarnation: `${c}-boot-${++this.#boots}` }),
      contacts: new ControllerContacts({ self: c, controllers: cfg.controllers, windowMs }),
    });
    for (let k = this.inflight.length - 1; k >= 0; k--) if (this.inflight[k]!.c === c && this.inflight[k]!.kind === 'resp') this.inflight.splice(k, 1);
    for (const p of this.controllers) {
      if (p === c || !this.linkUp(c, p) || !this.ctrl.has(p)) continue;
      this.ctrl.get(p)!.contacts.linkClosed(c, this.now(p));
      this.setLink(c, p, true);
    }
  }

  /** Controller c's tally at this instant. */
  tallyOf(c: string): TallyResult {
    const x = this.ctrl.get(c)!;
    const now = this.now(c);
    return tally(x.cfg, { reachableControllers: x.contacts.reachable(now), leasedAgents: x.table.countedAgents(now), registeredAgents: this.registered });
  }

  /** Controllers holding quorum now. */
  withQuorum(): string[] {
    return this.controllers.filter((c) => this.tallyOf(c).haveQuorum);
  }

  /** Controllers counting agent a's vote now. */
  countedBy(a: string): string[] {
    return this.controllers.filter((c) => this.ctrl.get(c)!.table.counts(a, this.now(c)));
  }

  /** Lease exclusivity: a violation message, or undefined. Also: whoever counts an agent is the
   *  controller that agent holds its lease for (or the agent is still in its start-up quiet time). */
  exclusivityViolation(): string | undefined {
    for (const a of this.agents) {
      const by = this.countedBy(a);
      if (by.length > 1) return `agent ${a} counted by ${by.join(' and ')} at tick ${this.tick}`;
      const ag = this.agent.get(a)!;
      const now = this.now(a);
      if (by.length === 1 && ag.vote.held(now)?.controller !== by[0] && now >= ag.vote.startedAtMs + ag.vote.leaseMs) {
        return `agent ${a} counted by ${by[0]} but its lease is ${ag.vote.held(now)?.controller ?? 'free'} at tick ${this.tick}`;
      }
    }
    return undefined;
  }

  /** The split-brain guarantee: two controllers both holding quorum are connected in the union graph
   *  of the last `windowTicks` ticks. Returns a violation message, or undefined. */
  splitBrainViolation(windowTicks: number): string | undefined {
    const q = this.withQuorum();
    for (let i = 0; i < q.length; i++) {
      for (let j = i + 1; j < q.length; j++) {
        if (!this.connected(q[i]!, q[j]!, windowTicks)) return `${q[i]} and ${q[j]} both hold quorum at tick ${this.tick} though not connected within ${windowTicks} ticks`;
      }
    }
    return undefined;
  }
}
