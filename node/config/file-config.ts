// Config files: YAML in the guide's shapes plus our `node:` settings, read into what a node starts
// from. Every problem is reported at once, each under the path the operator wrote
// (`spec.members[1].endpoint: ...`); unknown fields are refused (a typo must not silently fall back
// to a default); the validators that own the rules (membership, replication, quorum) are run here,
// at load, and their problems renamed to file paths, so a bad file fails before anything starts.
//
//   apiVersion: novaedge.io/v1alpha1
//   kind: NovaEdgeFederation
//   metadata: { name: global-federation }
//   node: { identityKeyFile, certificateFile, controllerCaFiles, listen, dataDir, ... }
//   spec: { federationID, localMember, members, sync, conflictResolution, healthCheck, splitBrain, antiEntropy }
//
// An agent's file is the same with kind NovaEdgeAgent and spec { federationID, localMember,
// healthCheck, agent: { controllers: { primary, secondary, failover }, autonomousMode, reachabilityProbe } }.
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { validateQuorumConfig } from '../../quorum/index.ts';
import type { ControllerConfig } from '../controller/controller-node.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { resolveMembershipConfig, type MembershipConfig } from './membership-config.ts';
import { pinOf } from '../auth/member-pins.ts';
import { resolveReplicationConfig, type ReplicationConfig } from './replication-config.ts';
import { FieldReader } from './field-reader.ts';
import { mergeIssues, toFileIssues } from './field-paths.ts';
import { resolveAgentConfig, type AgentConfig } from '../agent/agent-config.ts';
import { readAgentSpec } from './agent-spec.ts';
import { readControllerSpec } from './federation-spec.ts';
import type { MemberEntry } from './member-fields.ts';
import { NODE_DEFAULTS, readNodeSettings, REAL_FILES, type FileChecks, type NodeSettings } from './node-settings.ts';

/** The apiVersion of config files. */
export const CONFIG_API_VERSION = 'novaedge.io/v1alpha1';
/** Kind of a controller's config file. */
export const CONTROLLER_KIND = 'NovaEdgeFederation';
/** Kind of an agent's config file. */
export const AGENT_KIND = 'NovaEdgeAgent';
/** Largest config file read. */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;
/** Most YAML aliases expanded (a bound against alias bombs). */
const YAML_ALIASES_MAX = 100;

/** A controller's config file, read and validated. */
export interface ControllerFileConfig {
  /** Role of the node. */
  role: 'controller';
  /** metadata.name. */
  name: string;
  /** The `node:` settings. */
  node: NodeSettings;
  /** What ControllerNode.start takes. */
  controller: ControllerConfig;
  /** The local member and the others, as configured (for start-up logs and status). */
  localMember: MemberEntry;
  /** The other members. */
  members: MemberEntry[];
}

/** An agent's config file, read and validated. */
export interface AgentFileConfig {
  /** Role of the node. */
  role: 'agent';
  /** metadata.name. */
  name: string;
  /** The `node:` settings. */
  node: NodeSettings;
  /** What AgentNode.start takes. */
  agent: AgentConfig;
  /** The local member (name, region, zone). */
  localMember: MemberEntry;
}

/** A config file, read and validated. */
export type FileConfig = ControllerFileConfig | AgentFileConfig;

/** Options of loading a config file. */
export interface LoadOptions {
  /** Existence checks of the files it names (default: the real file system). */
  files?: FileChecks;
}

/** Read, parse and validate a config file; throws ConfigError listing every problem. */
export async function loadConfigFile(path: string, o: LoadOptions = {}): Promise<FileConfig> {
  const full = resolve(path);
  let text: string;
  try {
    const st = await stat(full);
    if (!st.isFile()) throw new ConfigError([{ field: '(file)', problem: `${full} is not a regular file` }]);
    if (st.size > CONFIG_FILE_BYTES_MAX) throw new ConfigError([{ field: '(file)', problem: `${full} is larger than ${CONFIG_FILE_BYTES_MAX} bytes` }]);
    text = await readFile(full, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError([{ field: '(file)', problem: `cannot read ${full}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  return parseConfigText(text, { baseDir: dirname(full), ...(o.files === undefined ? {} : { files: o.files }) });
}

/** Options of parsing config text. */
export interface ParseOptions extends LoadOptions {
  /** Directory relative paths are taken from (the config file's). */
  baseDir: string;
}

/** Parse and validate config text; throws ConfigError listing every problem. */
export function parseConfigText(text: string, o: ParseOptions): FileConfig {
  if (Buffer.byteLength(text) > CONFIG_FILE_BYTES_MAX) throw new ConfigError([{ field: '(file)', problem: `larger than ${CONFIG_FILE_BYTES_MAX} bytes` }]);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => ({
      field: e.linePos === undefined ? '(yaml)' : `(yaml line ${e.linePos[0].line}, column ${e.linePos[0].col})`,
      // prettyErrors adds " at line L, column C:" and a source excerpt; the field already says where.
      problem: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
    })));
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_ALIASES_MAX });
  } catch (e) {
    throw new ConfigError([{ field: '(yaml)', problem: (e as Error).message }]);
  }
  const issues: ConfigIssue[] = [];
  const root = new FieldReader(value, '', issues);
  if (!root.ok) throw new ConfigError(issues);
  const apiVersion = root.str('apiVersion', { required: true });
  if (apiVersion !== undefined && apiVersion !== CONFIG_API_VERSION) root.problem('apiVersion', `must be ${CONFIG_API_VERSION}, got ${JSON.stringify(apiVersion.slice(0, 60))}`);
  const kind = root.str('kind', { required: true });
  const meta = root.child('metadata');
  const name = meta.str('name') ?? '';
  meta.str('namespace'); // the guide's files carry one; it has no meaning outside Kubernetes
  meta.done();
  if (kind === CONTROLLER_KIND) return readController(root, name, o, issues);
  if (kind === AGENT_KIND) return readAgent(root, name, o, issues);
  if (kind !== undefined) root.problem('kind', `must be ${CONTROLLER_KIND} (a controller) or ${AGENT_KIND} (an agent), got ${JSON.stringify(kind.slice(0, 60))}`);
  throw new ConfigError(issues);
}

function readController(root: FieldReader, name: string, o: ParseOptions, issues: ConfigIssue[]): ControllerFileConfig {
  const whole = root.has('spec') && root.has('node');
  const spec = readControllerSpec(root.child('spec', { required: true }));
  // On the endpoint's own address: a controller at 127.0.0.1:7101 is not reachable from elsewhere.
  const listen = [spec.localListen ?? `/ip4/0.0.0.0/tcp/${spec.localPort ?? NODE_DEFAULTS.listenPort}`];
  const node = readNodeSettings(root.child('node', { required: true }), o.baseDir, o.files ?? REAL_FILES, listen, issues);
  root.done();

  const self = spec.localMember.name;
  const controllers = [self, ...spec.memberNames].filter((n) => n !== '');
  const membership: MembershipConfig = {
    federationId: spec.federationId ?? '',
    memberName: self,
    role: 'controller',
    region: spec.localMember.region,
    zone: spec.localMember.zone,
    listen: node.listen,
    // A joining controller (spec.bootstrap) pins its bootstrap members' peer IDs (controllerPinsFrom),
    // then the membership record it learns from them.
    bootstrap: spec.bootstrap.length > 0 ? spec.bootstrap : spec.members.map((m) => m.address!),
    // Each member's name with the peer ID its certificate must carry, inbound and outbound.
    ...(spec.bootstrap.length > 0 ? {} : { controllers: spec.members.map((m) => pinOf(m.name, m.address!)) }),
    keyFile: node.identityKeyFile,
    certificateFile: node.certificateFile,
    controllerCaFiles: node.controllerCaFiles,
    agentCaFiles: node.agentCaFiles,
    healthCheck: spec.healthCheck,
    ...(node.remoteAdmin.enabled ? { remoteClients: { caFiles: node.remoteAdmin.clientCaFiles, connectionsMax: node.remoteAdmin.connectionsMax } } : {}),
  };
  const replication: ReplicationConfig = { dataDir: node.dataDir, controllers, ...spec.replication };

  // The owners' validators, on what parsed; a field that already has a problem keeps only that one.
  // Without a whole file (no spec or no node section) they would only repeat that in other words.
  let later: ConfigIssue[] = [];
  if (whole) try {
    resolveMembershipConfig(membership);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    later.push(...toFileIssues(e.issues, 'membership').map((i) => remapBootstrap(i, spec.memberIndexes)));
  }
  if (whole) try {
    resolveReplicationConfig(replication, self);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    later.push(...toFileIssues(e.issues, 'replication'));
  }
  const q = validateQuorumConfig({ ...spec.splitBrain, self, controllers });
  if (whole && !q.ok) later.push(...toFileIssues(q.issues, 'quorum'));
  later = mergeIssues([], later); // the same field reported by two validators: keep the first
  const all = sortIssues(mergeIssues(issues, later));
  if (all.length > 0) throw new ConfigError(all);

  return {
    role: 'controller',
    name,
    node,
    controller: { membership, replication, splitBrain: spec.splitBrain, ...(spec.bootstrap.length > 0 ? { join: true } : {}) },
    localMember: spec.localMember,
    members: spec.members,
  };
}

function readAgent(root: FieldReader, name: string, o: ParseOptions, issues: ConfigIssue[]): AgentFileConfig {
  const whole = root.has('spec') && root.has('node');
  const spec = readAgentSpec(root.child('spec', { required: true }), o.baseDir);
  const node = readNodeSettings(root.child('node', { required: true }), o.baseDir, o.files ?? REAL_FILES, [NODE_DEFAULTS.agentListen], issues);
  root.done();
  const c = spec.agent.controllers;
  const membership: MembershipConfig = {
    federationId: spec.federationId ?? '',
    memberName: spec.localMember.name,
    role: 'agent',
    region: spec.localMember.region,
    zone: spec.localMember.zone,
    listen: node.listen,
    keyFile: node.identityKeyFile,
    certificateFile: node.certificateFile,
    controllerCaFiles: node.controllerCaFiles,
    agentCaFiles: node.agentCaFiles,
    healthCheck: spec.healthCheck,
  };
  const agent: AgentConfig = { membership, dataDir: node.dataDir, ...spec.agent };
  if (node.remoteAdmin.enabled) issues.push({ field: 'node.remoteAdmin.enabled', problem: 'only controllers serve remote clients; remove it from an agent\'s file' });

  const later: ConfigIssue[] = [];
  if (whole) try {
    // The agent node dials its controllers: they are its bootstrap list.
    resolveMembershipConfig({ ...membership, bootstrap: [c.primary, ...(c.secondary ?? [])].map((e) => e.endpoint).filter((e) => e !== '') });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    later.push(...toFileIssues(e.issues, 'membership'));
  }
  if (whole) try {
    resolveAgentConfig(agent);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const i of toFileIssues(e.issues, 'agent')) {
      // Controllers with a problem were reported as written, and left out of the validator's view.
      if (!spec.primaryOk && i.field.startsWith('spec.agent.controllers.primary')) continue;
      const m = /^spec\.agent\.controllers\.secondary\[(\d+)\](.*)$/.exec(i.field);
      later.push(m === null ? i : { field: `spec.agent.controllers.secondary[${spec.secondaryIndexes[Number(m[1])] ?? m[1]}]${m[2]}`, problem: i.problem });
    }
  }
  const all = sortIssues(mergeIssues(issues, mergeIssues([], later)));
  if (all.length > 0) throw new ConfigError(all);
  return { role: 'agent', name, node, agent, localMember: spec.localMember };
}

// bootstrap[i] counts well-formed members only; point it at the member's own index in the file.
function remapBootstrap(i: ConfigIssue, indexes: number[]): ConfigIssue {
  const m = /^spec\.members\[(\d+)\](.*)$/.exec(i.field);
  if (m === null) return i;
  return { field: `spec.members[${indexes[Number(m[1])] ?? Number(m[1])}]${m[2]}`, problem: i.problem };
}

// File order: apiVersion, kind, metadata, node, spec, then anything else (stable within a section).
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  const order = ['(', 'apiVersion', 'kind', 'metadata', 'node', 'spec'];
  const rank = (f: string): number => {
    const i = order.findIndex((p) => f.startsWith(p));
    return i < 0 ? order.length : i;
  };
  return issues.map((i, n) => ({ i, n })).sort((a, b) => rank(a.i.field) - rank(b.i.field) || a.n - b.n).map((x) => x.i);
}
