// The agent registry as a replicated record: one system record (storage/logic/system-keys.ts), so a
// version of the registry is one atomic value that replicates, and is joined with LastWriterWins
// whatever the configured strategy. One record rather than one per agent: a version number then
// means one thing everywhere, and two versions can never blend into a set nobody proposed.
// 10,000 agents of at most 63 characters stay well below the 1 MiB value bound.
import { isQuorumMemberName, MAX_AGENTS, type AgentRegistry } from '../../quorum/index.ts';
import { SYSTEM_NAMESPACE, type Resource, type SystemRecordSchemas } from '../../storage/index.ts';
import { NovaEdgeError } from '../errors.ts';

/** API version of the registry record. */
export const REGISTRY_API_VERSION = 'novaedge.io/v1alpha1';

/** Kind of the registry record (reserved in system-keys.ts). */
export const REGISTRY_KIND = 'FederationAgentRegistry';

/** Key of the registry record. */
export const REGISTRY_KEY = `${REGISTRY_KIND}/${SYSTEM_NAMESPACE}/agents`;

/** One stored version of the registry. */
export interface RegistryValue {
  /** The registry (version and agents). */
  registry: AgentRegistry;
  /** Writes of the record, re-confirmations included (a re-confirmation rewrites the same version). */
  generation: number;
  /** Controller that wrote it. */
  writtenBy: string;
  /**
   * The membership epoch of the controller that wrote it (live membership): a controller on an older
   * epoch counts nothing by it until it holds that epoch (quorum/agent-epochs.ts). Absent: none.
   */
  epoch?: number;
}

/** A registry record that does not decode; stable code REGISTRY_INVALID. */
export class RegistryRecordError extends NovaEdgeError {
  readonly code = 'REGISTRY_INVALID';
}

/** The resource stored for `v`. */
export function registryResource(v: RegistryValue): Resource {
  return {
    apiVersion: REGISTRY_API_VERSION,
    kind: REGISTRY_KIND,
    metadata: { name: 'agents', namespace: SYSTEM_NAMESPACE },
    spec: { version: v.registry.version, agents: [...v.registry.agents].sort(), generation: v.generation, writtenBy: v.writtenBy, ...(v.epoch === undefined ? {} : { epoch: v.epoch }) },
  };
}

/** Decode a stored registry resource; null (deleted or never written) is the empty registry. */
export function decodeRegistry(value: Resource | null | undefined): RegistryValue {
  if (value === null || value === undefined) return { registry: { version: 0, agents: new Set() }, generation: 0, writtenBy: '' };
  const spec = value.spec as Record<string, unknown> | undefined;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new RegistryRecordError('registry: spec is not an object');
  const int = (v: unknown, what: string): number => {
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new RegistryRecordError(`registry: ${what} is not a non-negative integer`);
    return v as number;
  };
  if (!Array.isArray(spec.agents) || spec.agents.length > MAX_AGENTS) throw new RegistryRecordError(`registry: agents is not a list of at most ${MAX_AGENTS}`);
  const agents = new Set<string>();
  for (const a of spec.agents) {
    if (!isQuorumMemberName(a)) throw new RegistryRecordError('registry: an agent is not a member name');
    agents.add(a);
  }
  const writtenBy = spec.writtenBy;
  if (writtenBy !== '' && !isQuorumMemberName(writtenBy)) throw new RegistryRecordError('registry: writtenBy is not a member name');
  const epoch = spec.epoch === undefined ? {} : { epoch: int(spec.epoch, 'epoch') };
  return { registry: { version: int(spec.version, 'version'), agents }, generation: int(spec.generation, 'generation'), writtenBy, ...epoch };
}

/**
 * The registry record's schema, as stores check it (StoreOptions.systemRecords): the one record of
 * its kind, named REGISTRY_KEY, whose value decodes. Throws RegistryRecordError.
 */
export function checkRegistryResource(value: Resource): void {
  if (value.apiVersion !== REGISTRY_API_VERSION) throw new RegistryRecordError(`registry: apiVersion is not ${REGISTRY_API_VERSION}`);
  if (value.metadata.name !== 'agents') throw new RegistryRecordError('registry: the one registry record is named agents');
  const extra = Object.keys(value).filter((f) => !['apiVersion', 'kind', 'metadata', 'spec'].includes(f));
  if (extra.length > 0) throw new RegistryRecordError(`registry: unknown field ${extra[0]!.slice(0, 60)}`);
  decodeRegistry(value);
}

/** The schemas of every system kind: what a store of the federation is opened with. */
export const SYSTEM_RECORD_SCHEMAS: SystemRecordSchemas = Object.freeze({ [REGISTRY_KIND]: checkRegistryResource });
