// Heartbeat fixtures and a fake-clock driver for peer-table tests.

import type { Heartbeat } from '../../membership/heartbeat.ts';
import type { HealthCheckOptions } from '../../membership/health-check.ts';
import { PeerTable, type StepResult } from '../../membership/peer-table.ts';
import type { MembershipEvent } from '../../membership/membership-events.ts';
import type { MemberState } from '../../membership/member-state.ts';

// Base58btc peer IDs: the table checks syntax only (certificates bind them to keys, in node/).
export const PEER_IDS = [
  '12D3KooWAtPLKJz2P4BtvQbK6uAxGJhVwSkoyRcHas2ymzD85SVA',
  '12D3KooWLRPJAA5o6zMsCTY5vS6LdJGBmGdyX6gJ9ZDzJ7Wq5Tdx',
  '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
  '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq',
] as const;

/** A valid heartbeat of `member` with HLC wall time `wallMs`; `over` replaces fields. */
export function heartbeat(member: string, wallMs: number, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    member,
    peerId: PEER_IDS[0],
    role: 'controller',
    region: 'eu-west',
    zone: 'eu-west-1a',
    hlc: { wallMs, logical: 0, member },
    merkleRoot: 'ab'.repeat(32),
    reachable: [],
    agentCount: 0,
    ...over,
  };
}

/** A peer table driven by a fake clock; heartbeats get increasing HLC stamps automatically. */
export class FakeClockTable {
  readonly table: PeerTable;
  readonly events: MembershipEvent[] = [];
  nowMs: number;
  #hlc = 1_700_000_000_000;

  constructor(healthCheck: HealthCheckOptions, startMs = 1_000_000, self = 'local') {
    this.table = new PeerTable({ self, healthCheck });
    this.nowMs = startMs;
  }

  #keep(r: StepResult): StepResult {
    this.events.push(...r.events);
    return r;
  }

  /** Deliver a heartbeat of `member` now (fields in `over` replace the defaults). */
  send(member: string, over: Partial<Heartbeat> = {}): StepResult {
    this.#hlc += 1;
    return this.#keep(this.table.heartbeat(heartbeat(member, this.#hlc, over), this.nowMs));
  }

  /** Deliver a leave notice of `member` now. */
  leave(member: string): StepResult {
    return this.#keep(this.table.leave(member, this.nowMs));
  }

  /** Tick at exactly `atMs` (caller clock), without intermediate ticks. */
  tickAt(atMs: number): StepResult {
    this.nowMs = atMs;
    return this.#keep(this.table.tick(atMs));
  }

  /** Advance to `atMs` ticking every `stepMs` (and at `atMs` itself). */
  runUntil(atMs: number, stepMs: number): void {
    while (this.nowMs + stepMs < atMs) this.tickAt(this.nowMs + stepMs);
    this.tickAt(atMs);
  }

  /** Current state of `member` (throws when unknown: a test bug). */
  state(member: string): MemberState {
    const v = this.table.get(member);
    if (v === undefined) throw new Error(`no member ${member}`);
    return v.state;
  }

  /** State changes of `member` so far, as "From>To" strings. */
  changes(member: string): string[] {
    return this.events.flatMap((e) => (e.type === 'state-changed' && e.member === member ? [`${e.from}>${e.to}`] : []));
  }
}
