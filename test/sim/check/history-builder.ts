// Small hand-made histories for the checkers' own tests (and for anyone writing a regression by
// hand): a history with defaults, stamps, entries, records and writes in a line each.
import type { Json } from '../../../storage/logic/canonical.ts';
import type { HlcStamp } from '../../../storage/logic/hlc.ts';
import { makeRecord, type Entry, type StoredRecord } from '../../../storage/logic/record.ts';
import type { VersionVector } from '../../../storage/logic/version-vector.ts';
import type { FinalState, History, NetworkState, RunConfig, WriteAck, WriteOp, WriteOutcome } from './history.ts';

/** A stamp. */
export function stamp(member: string, wallMs: number, logical = 0): HlcStamp {
  return { logical, member, wallMs };
}

/** A resource value for `key` with `spec`. */
export function resource(key: string, spec: Json): Json {
  const [kind, namespace, name] = key.split('/');
  return { apiVersion: 'v1', kind: kind!, metadata: { name: name!, namespace: namespace! }, spec };
}

/** An entry: the write `member:counter` at `wallMs`. */
export function entry(member: string, counter: number, wallMs: number, value: Json, logical = 0): Entry {
  return { counter, hlc: stamp(member, wallMs, logical), value };
}

/** A record. */
export function record(key: string, vv: VersionVector, entries: Entry[]): StoredRecord {
  return makeRecord(key, vv, entries);
}

/** An ack of the write `member:counter` at `wallMs` whose causal past is `vv`. */
export function ack(member: string, counter: number, wallMs: number, vv: VersionVector, changed = true): WriteAck {
  return { hlc: stamp(member, wallMs), counter, vv, changed };
}

/** A final state holding `records`. */
export function final(node: string, records: StoredRecord[], merkleRoot = 'root', role: 'controller' | 'agent' = 'controller'): FinalState {
  return { node, role, merkleRoot, records: Object.fromEntries(records.map((r) => [r.key, r])) };
}

/** A network state. */
export function net(atMs: number, cause: string, o: Partial<Pick<NetworkState, 'down' | 'paused' | 'cuts'>> = {}): NetworkState {
  return { atMs, cause, down: o.down ?? [], paused: o.paused ?? [], cuts: o.cuts ?? [] };
}

/** Directed cuts between every node of `left` and every node of `right`, both ways. */
export function split(left: string[], right: string[]): Array<[string, string]> {
  return left.flatMap((l) => right.flatMap((r) => [[l, r], [r, l]] as Array<[string, string]>));
}

let nextId = 1;

/** A write op. */
export function writeOp(o: { node: string; key: string; durability?: WriteOp['durability']; startMs: number; endMs?: number; outcome: WriteOutcome; kind?: WriteOp['kind']; id?: number }): WriteOp {
  return {
    id: o.id ?? nextId++, kind: o.kind ?? 'apply', node: o.node, key: o.key, durability: o.durability ?? 'local',
    startMs: o.startMs, endMs: o.outcome.status === 'pending' ? undefined : (o.endMs ?? o.startMs), outcome: o.outcome,
  };
}

/** An acknowledged write op. */
export function okWrite(node: string, key: string, a: WriteAck, startMs: number, o: { durability?: WriteOp['durability']; endMs?: number; holders?: string[] } = {}): WriteOp {
  return writeOp({ node, key, startMs, endMs: o.endMs, durability: o.durability, outcome: { status: 'ok', ack: a, ...(o.holders === undefined ? {} : { holders: o.holders }) } });
}

/** The default run configuration (3 controllers, LastWriterWins, majority 2, maxClockOffset 5 s). */
export function runConfig(over: Partial<RunConfig> = {}): RunConfig {
  return { seed: 1, strategy: 'LastWriterWins', quorumMode: 'Controllers', durabilityQuorum: 2, fenceQuorum: 2, maxClockOffsetMs: 5_000, ...over };
}

/** A history of controllers a, b, c and agents x, y from 0 to `endMs`, nothing happening unless given. */
export function history(over: Partial<History> = {}): History {
  return {
    config: runConfig(), controllers: ['a', 'b', 'c'], agents: ['x', 'y'], startMs: 0, endMs: 60_000,
    writes: [], reads: [], network: [net(0, 'start')], clocks: [], starts: [], stamps: [], fences: [], phases: [], follows: [], agentChanges: [],
    leases: [], rootSamples: [], memberships: [], memberOps: [], final: {}, finalStatus: {},
    ...over,
  };
}
