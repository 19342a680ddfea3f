// In-memory replicas for property tests: the same pure operations the LevelDB store uses, without I/O.
import { HybridClock } from '../../storage/logic/hlc.ts';
import { encodeRecord, type StoredRecord } from '../../storage/logic/record.ts';
import { localOp, remoteJoin, type LocalOp } from '../../storage/logic/replica-ops.ts';
import { MerkleTree } from '../../storage/logic/merkle.ts';
import type { ConflictRule } from '../../storage/logic/rules/conflict-rule.ts';

export class SimReplica {
  readonly records = new Map<string, StoredRecord>();
  readonly merkle = new MerkleTree({ depth: 2 });
  readonly clock: HybridClock;
  readonly rule: ConflictRule;

  constructor(member: string, rule: ConflictRule) {
    this.clock = new HybridClock(member, { maxClockOffsetMs: 1e12 });
    this.rule = rule;
  }

  /** A local op; returns the new record or undefined when nothing changed. */
  local(key: string, op: LocalOp, nowMs: number): StoredRecord | undefined {
    const { record } = localOp(this.rule, this.clock, nowMs, key, this.records.get(key), op);
    if (record !== undefined) this.#set(record);
    return record;
  }

  receive(incoming: StoredRecord, nowMs: number): boolean {
    const out = remoteJoin(this.rule, this.clock, nowMs, this.records.get(incoming.key), incoming);
    if (out.changed) this.#set(out.record);
    return out.changed;
  }

  #set(r: StoredRecord): void {
    this.records.set(r.key, r);
    this.merkle.update(r.key, r.digest);
  }

  /** Canonical bytes of the whole replica, keys sorted. */
  dump(): string {
    return [...this.records.keys()].sort().map((k) => encodeRecord(this.records.get(k)!)).join('\n');
  }
}

export function spec(i: number, extra: Record<string, unknown> = {}): { [key: string]: never } {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `r${i}`, namespace: 'default' }, spec: extra } as never;
}
