// Messages of the anti-entropy protocol (/novaedge/<federationID>/anti-entropy/1.0.0). The client
// drives: it compares Merkle roots, descends level by level only into differing subtrees, compares
// (key, digest) lists at the leaves, then pulls and/or pushes only the differing records.
//
// Which way a differing record goes. A digest says a key differs, not which side holds the newer
// version; without more, a bidirectional session fetches the peer's version, joins it with its own and
// pushes the result where it differs, so a session run by the controller holding the newer versions
// first fetches every older one for nothing. A server that lists the `versions` feature in its hello
// answers, for keys both sides hold, which way each must go from the version vectors: the client sends
// its vectors, the server compares them with its own (dominated: push only; dominating: pull only;
// concurrent or equal with another digest: both). A server without the feature is asked nothing of the
// kind (a rolling upgrade keeps working the old way).
import { isVersionVector, type VersionVector } from '../../storage/logic/version-vector.ts';
import { arr, int, messageType, obj, ProtocolError, str } from '../wire/protocol-error.ts';
import { SMALL_MESSAGE_BYTES_MAX, type InboundCaps } from '../wire/message-limits.ts';

/** Protocol version carried in hello; a peer with another version is refused. */
export const ANTI_ENTROPY_VERSION = 1;

/** The feature a server lists in its hello when it answers `versions` requests. */
export const VERSIONS_FEATURE = 'versions';

/** Most features a hello may list (names of at most 32 characters). */
const FEATURES_MAX = 16;

/** Most entries of one version vector in a versions request: the store's record limit (vvMembersMax). */
export const VERSIONS_VV_MEMBERS_MAX = 1_024;

/** Bytes of each child hash sent during the descent: a 64-bit prefix of SHA-256 tells two nodes apart with all but 2^-64 odds, at a quarter of the bytes. */
export const NODE_HASH_BYTES = 8;

/** Bounds of one session's messages. */
export interface AntiEntropyLimits {
  /** Most tree nodes named in one children/leaves request. */
  nodesPerRequestMax: number;
  /** Most keys in one get request, and records in one put. */
  keysPerRequestMax: number;
  /** Most (key, digest) pairs in one leaves response. */
  leafEntriesMax: number;
  /** Largest sum of record sizes in one response; the rest is asked for again. */
  responseBytesMax: number;
}

export const DEFAULT_ANTI_ENTROPY_LIMITS: AntiEntropyLimits = {
  nodesPerRequestMax: 4096,
  keysPerRequestMax: 1000,
  leafEntriesMax: 200_000,
  responseBytesMax: 4 * 1024 * 1024,
};

export type ClientMessage =
  | { t: 'hello'; v: number; depth: number }
  | { t: 'children'; level: number; nodes: number[] }
  | { t: 'leaves'; nodes: number[] }
  | { t: 'get'; keys: string[] }
  | { t: 'scan'; after: string | null; limit: number }
  | { t: 'put'; records: unknown[] }
  /** For keys both sides hold with different digests: the client's version vector of each. */
  | { t: 'versions'; entries: Array<[string, VersionVector]> }
  | { t: 'bye' };

export type ServerMessage =
  | { t: 'hello'; v: number; root: string; size: number; features?: string[] }
  | { t: 'children'; hashes: string }
  | { t: 'leaves'; leaves: Array<Array<[string, string]>> }
  | { t: 'records'; records: unknown[]; missing: string[]; next: string | null }
  | { t: 'put'; applied: number; unchanged: number; rejected: number }
  /** Indexes into the request's entries: the records the client should pull, and those it should push. */
  | { t: 'versions'; pull: number[]; push: number[] }
  | { t: 'error'; code: string; message: string };

const KEY_MAX = 600;
// Bytes of one entry of a request's lists: a key ("key",) and a tree node (at most 16^6, and a comma).
const KEY_ITEM_BYTES_MAX = KEY_MAX + 3;
const NODE_ITEM_BYTES_MAX = 9;
const node = (depthMax: number) => (x: unknown, w: string) => int(x, 0, 16 ** depthMax - 1, w);

/** Validate a client message. */
export function parseClientMessage(v: unknown, limits: AntiEntropyLimits): ClientMessage {
  const m = obj(v, 'anti-entropy request');
  const t = messageType(m, ['hello', 'children', 'leaves', 'get', 'scan', 'put', 'versions', 'bye'] as const, 'anti-entropy request');
  switch (t) {
    case 'hello':
      return { t, v: int(m.v, 0, 1_000, 'hello.v'), depth: int(m.depth, 1, 6, 'hello.depth') };
    case 'children':
      return { t, level: int(m.level, 0, 5, 'children.level'), nodes: arr(m.nodes, limits.nodesPerRequestMax, 'children.nodes', node(5)) };
    case 'leaves':
      return { t, nodes: arr(m.nodes, limits.nodesPerRequestMax, 'leaves.nodes', node(6)) };
    case 'get':
      return { t, keys: arr(m.keys, limits.keysPerRequestMax, 'get.keys', (x, w) => str(x, KEY_MAX, w)) };
    case 'scan':
      return { t, after: m.after === null ? null : str(m.after, KEY_MAX, 'scan.after'), limit: int(m.limit, 1, limits.keysPerRequestMax, 'scan.limit') };
    case 'put':
      return { t, records: arr(m.records, limits.keysPerRequestMax, 'put.records', (x) => x) };
    case 'versions':
      return {
        t, entries: arr(m.entries, limits.keysPerRequestMax, 'versions.entries', (e, w) => {
          const pair = arr(e, 2, w, (x) => x);
          if (pair.length !== 2 || !isVersionVector(pair[1], VERSIONS_VV_MEMBERS_MAX)) throw new ProtocolError(`${w}: not a (key, version vector) pair`);
          return [str(pair[0], KEY_MAX, `${w}.key`), pair[1]] as [string, VersionVector];
        }),
      };
    case 'bye':
      return { t };
  }
}

/** Validate a server message, expecting type `want` (an error message is turned into a throw). */
export function parseServerMessage<T extends ServerMessage['t']>(v: unknown, want: T, limits: AntiEntropyLimits): Extract<ServerMessage, { t: T }> {
  const m = obj(v, 'anti-entropy response');
  const t = messageType(m, [want, 'error'] as const, `anti-entropy response to ${want}`);
  if (t === 'error') {
    throw new ProtocolError(`peer refused: ${str(m.code, 64, 'error.code')}: ${str(m.message, 1000, 'error.message')}`);
  }
  const out = ((): ServerMessage => {
    switch (want as ServerMessage['t']) {
      case 'hello':
        return {
          t: 'hello', v: int(m.v, 0, 1_000, 'hello.v'), root: str(m.root, 64, 'hello.root'), size: int(m.size, 0, Number.MAX_SAFE_INTEGER, 'hello.size'),
          features: m.features === undefined ? [] : arr(m.features, FEATURES_MAX, 'hello.features', (x, w) => str(x, 32, w)),
        };
      case 'children':
        return { t: 'children', hashes: str(m.hashes, limits.nodesPerRequestMax * 16 * NODE_HASH_BYTES * 2, 'children.hashes') };
      case 'leaves': {
        let total = 0;
        const leaves = arr(m.leaves, limits.nodesPerRequestMax, 'leaves.leaves', (l, w) => arr(l, limits.leafEntriesMax, w, (p, w2) => {
          if (++total > limits.leafEntriesMax) throw new ProtocolError('leaves: too many entries');
          const pair = arr(p, 2, w2, (x, w3) => str(x, KEY_MAX, w3));
          if (pair.length !== 2 || pair[1]!.length !== 64) throw new ProtocolError(`${w2}: not a (key, digest) pair`);
          return pair as [string, string];
        }));
        return { t: 'leaves', leaves };
      }
      case 'records':
        return {
          t: 'records',
          records: arr(m.records, limits.keysPerRequestMax, 'records.records', (x) => x),
          missing: arr(m.missing ?? [], limits.keysPerRequestMax, 'records.missing', (x, w) => str(x, KEY_MAX, w)),
          next: m.next === null || m.next === undefined ? null : str(m.next, KEY_MAX, 'records.next'),
        };
      case 'put':
        return {
          t: 'put',
          applied: int(m.applied, 0, limits.keysPerRequestMax, 'put.applied'),
          unchanged: int(m.unchanged, 0, limits.keysPerRequestMax, 'put.unchanged'),
          rejected: int(m.rejected, 0, limits.keysPerRequestMax, 'put.rejected'),
        };
      case 'versions': {
        const index = (x: unknown, w: string): number => int(x, 0, limits.keysPerRequestMax - 1, w);
        return {
          t: 'versions', pull: arr(m.pull, limits.keysPerRequestMax, 'versions.pull', index), push: arr(m.push, limits.keysPerRequestMax, 'versions.push', index),
        };
      }
      default:
        throw new ProtocolError(`unexpected response type ${want}`);
    }
  })();
  return out as Extract<ServerMessage, { t: T }>;
}

/**
 * What a server reads (message-limits.ts): requests name at most nodesPerRequestMax tree nodes or
 * keysPerRequestMax keys, so they are small. `putBytesMax` admits puts (records, from controllers);
 * without it (agents may only read) a put is capped like any small message.
 */
export function antiEntropyRequestCaps(limits: AntiEntropyLimits, putBytesMax?: number): InboundCaps {
  const nodes = SMALL_MESSAGE_BYTES_MAX + limits.nodesPerRequestMax * NODE_ITEM_BYTES_MAX;
  const byType: Record<string, number> = {
    children: nodes, leaves: nodes, get: SMALL_MESSAGE_BYTES_MAX + limits.keysPerRequestMax * KEY_ITEM_BYTES_MAX,
  };
  // Version vectors are as large as the records' may be: a versions request is bounded like a put.
  if (putBytesMax !== undefined) byType.put = byType.versions = putBytesMax;
  return { messageBytesMax: SMALL_MESSAGE_BYTES_MAX, messageBytesMaxByType: byType };
}

/**
 * What a client reads: children hashes of at most nodesPerRequestMax nodes (base64), and a frame's
 * worth of leaves or records: records responses are cut at responseBytesMax (4 MiB) or are one record
 * of at most recordBytesMax (4 MiB), beside at most keysPerRequestMax missing keys.
 */
export function antiEntropyResponseCaps(limits: AntiEntropyLimits, frameBytesMax: number): InboundCaps {
  const children = SMALL_MESSAGE_BYTES_MAX + Math.ceil((limits.nodesPerRequestMax * 16 * NODE_HASH_BYTES) / 3) * 4;
  // Two lists of indexes below keysPerRequestMax: at most 16 digits and a comma each.
  const versions = SMALL_MESSAGE_BYTES_MAX + 2 * limits.keysPerRequestMax * 17;
  return { messageBytesMax: SMALL_MESSAGE_BYTES_MAX, messageBytesMaxByType: { children, leaves: frameBytesMax, records: frameBytesMax, versions } };
}
