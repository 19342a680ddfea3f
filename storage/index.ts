// Public surface of storage/: the pure record logic and the LevelDB store.
export { canonicalJson, jsonEqual, sha256Hex, type Json } from './logic/canonical.ts';
export { ClockSkewError, HybridClock, compareHlc, isHlcStamp, type HlcOptions, type HlcStamp } from './logic/hlc.ts';
export { joinRecords } from './logic/join.ts';
export { MerkleTree, DEFAULT_MERKLE_SHAPE, MERKLE_FANOUT, leafIndexOf, type MerkleShape } from './logic/merkle.ts';
export {
  decodeRecord, encodeRecord, makeRecord, newestEntry, validateRecord, InvalidRecordError, DEFAULT_RECORD_LIMITS, RECORD_PROBLEMS,
  type Entry, type RecordLimits, type RecordProblem, type StoredRecord,
} from './logic/record.ts';
export { localOp, remoteJoin, type LocalOp } from './logic/replica-ops.ts';
export {
  checkStoredResource, parseKey, parseResource, resourceKey, InvalidResourceError, ResourceTooLargeError, DEFAULT_RESOURCE_LIMITS,
  type ParsedResource, type Resource, type ResourceLimits,
} from './logic/resource.ts';
export {
  conflictRule, ConflictPendingError, STRATEGY_NAMES,
  type ConflictInfo, type ConflictRule, type ConflictVersion, type StrategyName,
} from './logic/rules/index.ts';
export {
  isSystemKey, isSystemKind, systemRecordProblem, SYSTEM_KINDS, SYSTEM_NAMESPACE, type SystemRecordSchema, type SystemRecordSchemas,
} from './logic/system-keys.ts';
export { closestKind, editDistance, NOVAEDGE_RESOURCE_KINDS, ResourceKinds, UnknownKindError } from './logic/resource-kinds.ts';
export { checkReplicatedRecord, REPLICATED_VV_COUNTER_MAX, type ReplicatedRecordPolicy } from './logic/replicated-record.ts';
export { compareVv, incrementVv, mergeVv, type Causality, type VersionVector } from './logic/version-vector.ts';
export * from './store/errors.ts';
export { CommitQueueFullError } from './store/group-commit.ts';
export { WatchQueue } from './store/watch-hub.ts';
export {
  Store, type ChangeEvent, type RemoteResult, type ResourceView, type StoreOptions, type StoreStats, type WriteOptions, type WriteResult,
} from './store/store.ts';
