// The controller's admin methods: one per `novactl` action, each a params validator and a handler
// over the ControllerNode API. Results are the shapes in controller-api.ts.
import type { PeerView } from '../../membership/peer-table.ts';
import { InvalidResourceError } from '../../storage/index.ts';
import type { ControllerNode, ControllerWriteResult, FederationStatus } from '../controller/controller-node.ts';
import { AdminError, InvalidParamsError, toRpcError } from './admin-errors.ts';
import type {
  AgentInfo, AgentsResult, ApplyResult, ConflictsResult, DescribeResult, FederationEvent,
  MembersAddResult, MembersDenyResult, MembersListResult, MembersPromoteResult, MembersRemoveResult, ReconcileResult, StatusResult, SyncResult, WriteDurability, WriteOutcome,
} from './controller-api.ts';
import { isPeerIdText } from '../../membership/heartbeat.ts';
import { isMemberName } from '../../membership/member-name.ts';
import { ENDPOINT_CHARS_MAX, ENDPOINTS_MAX, MemberChangeError } from '../../membership/federation-members.ts';
import { multiaddr } from '@multiformats/multiaddr';
import { MembershipRequestError } from '../membership/members-service.ts';
import { defineMethod, Subscription, type MethodTable } from './method-table.ts';
import { arr, oneOf, optBool, optOneOf, paramsObject, str } from './params.ts';
import { keyParam, readMethods } from './read-methods.ts';

/** Most resources in one apply call (the request line bound usually comes first). */
export const APPLY_RESOURCES_MAX = 10_000;

const DURABILITY: readonly WriteDurability[] = ['local', 'quorum'];

// What `agent` last reported as its round trip to `controller`: controllers do not ping agents
// (membership's rtt-targets.ts). hasOwn although the report has no prototype: a controller named
// "constructor" must never read Object's, whoever built the view.
function reportedRttTo(agent: PeerView, controller: string): number | undefined {
  const r = agent.reportedRttMs;
  return r !== undefined && Object.hasOwn(r, controller) ? r[controller] : undefined;
}

function outcome(r: ControllerWriteResult): WriteOutcome {
  return {
    key: r.view.key, changed: r.changed, seq: r.view.seq, hlc: r.view.hlc, vv: r.view.vv,
    ...(r.acknowledgedBy === undefined ? {} : { acknowledgedBy: r.acknowledgedBy }),
  };
}

/** The admin methods of a controller. */
export function controllerMethods(node: ControllerNode): MethodTable {
  const self = node.membership.memberName;
  const durabilityOf = (o: Record<string, unknown>): { durability?: WriteDurability } => {
    const d = optOneOf(o, 'durability', DURABILITY);
    return d === undefined ? {} : { durability: d };
  };

  return {
    ...readMethods(node),

    'federation.status': defineMethod({
      params: (raw) => ({ verbose: optBool(paramsObject(raw, ['verbose']), 'verbose') ?? false }),
      handler: async ({ verbose }): Promise<StatusResult> => {
        const m = node.membership;
        const base = node.status();
        const merkleRoot = node.store.merkle.root();
        const status: StatusResult = {
          ...base,
          members: withRoots(base.members, self, merkleRoot, m.peers(), node.components.timers.nowMs()),
          node: {
            member: self, role: 'controller', region: m.config.region, zone: m.config.zone, peerId: m.peerId.toString(),
            multiaddrs: m.multiaddrs(), strategy: node.config.strategy, storeSize: node.store.size, seq: node.store.seq, merkleRoot,
          },
        };
        if (verbose) {
          status.replication = node.replicator.status();
          status.fence = { ...node.fence.counters, reason: status.quorum.fenceReason };
        }
        return status;
      },
    }),

    'federation.watch': defineMethod({
      stream: true,
      params: (raw) => paramsObject(raw, []),
      handler: async (): Promise<Subscription> => {
        const q = node.fence.status();
        let seq = 0;
        const state: FederationEvent = { type: 'state', seq: ++seq, phase: q.phase, writesFenced: q.writesFenced, fenceReason: q.fenceReason, haveQuorum: q.haveQuorum };
        return new Subscription({ member: self }, async (sink) => {
          sink.notify('federation.event', state);
          const offs = [
            node.on('fence', (e) => sink.notify('federation.event', { type: 'fence', seq: ++seq, ...e } satisfies FederationEvent)),
            node.on('quorum', (e) => sink.notify('federation.event', { type: 'quorum', seq: ++seq, ...e } satisfies FederationEvent)),
            node.on('phase', (e) => sink.notify('federation.event', { type: 'phase', seq: ++seq, ...e } satisfies FederationEvent)),
          ];
          try {
            await new Promise<void>((resolve) => {
              if (sink.signal.aborted) resolve();
              sink.signal.addEventListener('abort', () => resolve(), { once: true });
            });
          } finally {
            for (const off of offs) off();
          }
        });
      },
    }),

    'federation.conflicts': defineMethod({
      params: (raw) => paramsObject(raw, []),
      handler: async (): Promise<ConflictsResult> => ({ member: self, conflicts: await node.conflicts() }),
    }),

    'conflicts.describe': defineMethod({
      params: (raw) => ({ key: keyParam(paramsObject(raw, ['key'])) }),
      handler: async ({ key }): Promise<DescribeResult> => {
        const c = await node.describeConflict(key);
        if (c === undefined) throw new AdminError('NOT_FOUND', `no conflict held for ${key}`, { key });
        return { ...c, member: self };
      },
    }),

    'conflicts.resolve': defineMethod({
      access: 'write',
      params: (raw) => {
        const o = paramsObject(raw, ['key', 'keep', 'durability']);
        return { key: keyParam(o), keep: oneOf(o, 'keep', ['local', 'remote'] as const), opts: durabilityOf(o) };
      },
      handler: async ({ key, keep, opts }): Promise<WriteOutcome> => outcome(await node.resolveConflict(key, keep, opts)),
    }),

    'federation.sync': defineMethod({
      access: 'write',
      params: (raw) => ({ peer: str(paramsObject(raw, ['peer']), 'peer', 253) }),
      handler: async ({ peer }): Promise<SyncResult> => {
        if (peer === self) throw new InvalidParamsError('params.peer', `${peer} is this controller; name another one`);
        const known = node.knownControllers();
        if (!known.includes(peer)) {
          throw new AdminError('NOT_FOUND', `${peer} is not a controller of the federation (controllers: ${known.join(', ')})`, { peer });
        }
        return { peer, report: await node.sync(peer) };
      },
    }),

    'federation.members.list': defineMethod({
      params: (raw) => paramsObject(raw, []),
      handler: async (): Promise<MembersListResult> => {
        const members = adminCall(() => node.liveMembers());
        const connected = node.membership.authenticatedPeers().filter((p) => p.role === 'controller').map((p) => p.member);
        // Caught up, as far as this controller can tell: the Merkle root of its latest heartbeat is ours.
        const ours = node.store.merkle.root();
        const sameRoot = node.membership.peers().filter((p) => p.merkleRoot !== '' && p.merkleRoot === ours).map((p) => p.member);
        return { record: members.committed, connected: [self, ...connected].sort(), sameRoot: [self, ...sameRoot].sort() };
      },
    }),

    'federation.members.deny': defineMethod({
      access: 'write',
      params: (raw) => {
        const o = paramsObject(raw, ['peerId', 'name', 'role']);
        const peerId = str(o, 'peerId', 128);
        if (!isPeerIdText(peerId)) throw new InvalidParamsError('params.peerId', 'must be a libp2p peer ID (12D3KooW…)');
        const name = str(o, 'name', 63);
        if (!isMemberName(name)) throw new InvalidParamsError('params.name', 'must be a DNS-1123 label (the name in its certificate)');
        return { peerId, name, role: oneOf(o, 'role', ['operator', 'viewer', 'agent'] as const) };
      },
      handler: async ({ peerId, name, role }): Promise<MembersDenyResult> => {
        const members = adminCall(() => node.liveMembers());
        try {
          const { record } = await members.propose({ op: 'deny', peerId, name, role });
          return { denied: record.denied.find((d) => d.peerId === peerId)!, epoch: record.epoch };
        } catch (err) {
          throw memberChangeAdminError(err);
        }
      },
    }),

    'federation.members.remove': defineMethod({
      access: 'write',
      params: (raw) => {
        const o = paramsObject(raw, ['name', 'force']);
        const name = str(o, 'name', 63);
        if (!isMemberName(name)) throw new InvalidParamsError('params.name', 'must be a member name');
        return { name, force: optBool(o, 'force') ?? false };
      },
      handler: async ({ name, force }): Promise<MembersRemoveResult> => {
        try {
          const { record, removed, drained } = await node.removeController(name, { force });
          return { removed, epoch: record.epoch, voters: [...record.voters], drained };
        } catch (err) {
          throw memberChangeAdminError(err);
        }
      },
    }),

    'federation.members.add': defineMethod({
      access: 'write',
      params: (raw) => {
        const o = paramsObject(raw, ['name', 'peerId', 'endpoints', 'region', 'promote']);
        const name = str(o, 'name', 63);
        if (!isMemberName(name)) throw new InvalidParamsError('params.name', 'must be a DNS-1123 label (the name in its certificate)');
        const peerId = str(o, 'peerId', 128);
        if (!isPeerIdText(peerId)) throw new InvalidParamsError('params.peerId', 'must be a libp2p peer ID (12D3KooW…)');
        const endpoints = endpointsParam(o.endpoints, peerId);
        const region = o.region === undefined ? '' : str(o, 'region', 63);
        return { name, peerId, endpoints, region, autoPromote: optBool(o, 'promote') ?? true };
      },
      handler: async (entry): Promise<MembersAddResult> => {
        try {
          const record = await node.addController(entry);
          return { added: record.controllers.find((c) => c.name === entry.name)!, epoch: record.epoch, learners: [...record.learners], voters: [...record.voters] };
        } catch (err) {
          throw memberChangeAdminError(err);
        }
      },
    }),

    'federation.members.promote': defineMethod({
      access: 'write',
      params: (raw) => {
        const o = paramsObject(raw, ['name']);
        const name = str(o, 'name', 63);
        if (!isMemberName(name)) throw new InvalidParamsError('params.name', 'must be a member name');
        return { name };
      },
      handler: async ({ name }): Promise<MembersPromoteResult> => {
        try {
          const record = await node.promoteController(name);
          return { promoted: name, epoch: record.epoch, voters: [...record.voters] };
        } catch (err) {
          throw memberChangeAdminError(err);
        }
      },
    }),

    'federation.reconcile': defineMethod({
      access: 'write',
      params: (raw) => paramsObject(raw, []),
      handler: async (): Promise<ReconcileResult> => {
        const connected = new Set(node.membership.authenticatedPeers().filter((p) => p.role === 'controller').map((p) => p.member));
        const peers = node.knownControllers().filter((c) => c !== self && connected.has(c));
        const runs = await Promise.allSettled(peers.map((p) => node.sync(p)));
        return {
          peers: runs.map((r, i) => {
            const peer = peers[i]!;
            if (r.status === 'fulfilled') return { peer, ok: true as const, report: r.value };
            const e = toRpcError(r.reason);
            return { peer, ok: false as const, error: { code: e.data.code, message: e.message } };
          }),
        };
      },
    }),

    'agents.list': defineMethod({
      params: (raw) => paramsObject(raw, []),
      handler: async (): Promise<AgentsResult> => {
        const now = node.components.timers.nowMs();
        const connected = new Set(node.membership.authenticatedPeers().filter((p) => p.role === 'agent').map((p) => p.member));
        const agents = new Map<string, AgentInfo>();
        for (const p of node.membership.peers()) {
          if (p.role !== 'agent') continue;
          agents.set(p.member, {
            name: p.member, region: p.region, zone: p.zone, state: p.state, connected: connected.has(p.member),
            reachable: [...p.reachable], lastSeenAgoMs: Math.max(0, Math.round(now - p.lastHeardAtMs)), rttMs: reportedRttTo(p, self),
          });
        }
        for (const name of connected) {
          if (!agents.has(name)) {
            agents.set(name, { name, region: '', zone: '', state: 'Unknown', connected: true, reachable: [], lastSeenAgoMs: undefined, rttMs: undefined });
          }
        }
        const votes = node.agentVotes;
        if (votes !== undefined) {
          // Registered agents that never connected here are listed too: they count in the total.
          for (const name of votes.registeredAgents()) {
            if (!agents.has(name)) agents.set(name, { name, region: '', zone: '', state: 'Unknown', connected: false, reachable: [], lastSeenAgoMs: undefined, rttMs: undefined });
          }
          const leased = new Set(votes.leasedAgents(node.components.timers.nowMs()));
          const registered = votes.registeredAgents();
          for (const a of agents.values()) {
            a.registered = registered.has(a.name);
            a.voteHere = leased.has(a.name);
          }
        }
        return { agents: [...agents.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
      },
    }),

    'resources.apply': defineMethod({
      access: 'write',
      params: (raw) => {
        const o = paramsObject(raw, ['resources', 'durability']);
        const resources = arr(o, 'resources', APPLY_RESOURCES_MAX);
        resources.forEach((r, i) => {
          if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new InvalidParamsError(`params.resources[${i}]`, 'must be an object (a resource)');
        });
        return { resources, opts: durabilityOf(o) };
      },
      handler: async ({ resources, opts }): Promise<ApplyResult> => {
        const results: ApplyResult['results'] = [];
        for (const [index, resource] of resources.entries()) {
          try {
            results.push({ index, ...outcome(await node.apply(resource, opts)) });
          } catch (err) {
            const e = toRpcError(err);
            const key = keyOf(resource);
            const field = err instanceof InvalidResourceError ? `params.resources[${index}].${err.field}` : undefined;
            throw new AdminError(e.data.code, `resources[${index}]${key === undefined ? '' : ` (${key})`}: ${e.message}`,
              { index, ...(key === undefined ? {} : { key }), ...(field === undefined ? {} : { field }), results, ...(e.data.cause === undefined ? {} : { cause: e.data.cause }) },
              { cause: err });
          }
        }
        return { results };
      },
    }),

    'resources.delete': defineMethod({
      access: 'write',
      params: (raw) => {
        const o = paramsObject(raw, ['key', 'durability']);
        return { key: keyParam(o), opts: durabilityOf(o) };
      },
      handler: async ({ key, opts }): Promise<WriteOutcome> => outcome(await node.delete(key, opts)),
    }),
  };
}

// Each member's Merkle root next to its row: ours, and each peer's as its last heartbeat carried it
// (heartbeats carry the sender's root, so no call to the peer is needed and it works across hosts).
function withRoots(members: FederationStatus['members'], self: string, ours: string, peers: PeerView[], nowMs: number): StatusResult['members'] {
  const byName = new Map(peers.map((p) => [p.member, p] as const));
  return members.map((row) => {
    if (row.name === self) return { ...row, merkleRoot: ours, rootAgoMs: 0, sameRoot: true };
    const p = byName.get(row.name);
    if (p === undefined || p.merkleRoot === '') return { ...row, merkleRoot: undefined, rootAgoMs: undefined, sameRoot: undefined };
    return { ...row, merkleRoot: p.merkleRoot, rootAgoMs: Math.max(0, Math.round(nowMs - p.lastHeardAtMs)), sameRoot: p.merkleRoot === ours };
  });
}

// The key a resource would have, when its kind, namespace and name are strings (for error messages).
function keyOf(resource: unknown): string | undefined {
  const r = resource as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  const ns = r.metadata?.namespace ?? 'default';
  if (typeof r.kind !== 'string' || typeof r.metadata?.name !== 'string' || typeof ns !== 'string') return undefined;
  return `${r.kind}/${ns}/${r.metadata.name}`.slice(0, 600);
}


function adminCall<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw memberChangeAdminError(err);
  }
}

// `members add`'s endpoints: one to ENDPOINTS_MAX multiaddrs, each ending in the added controller's
// /p2p/ peer ID (added when missing; another peer ID is refused).
function endpointsParam(raw: unknown, peerId: string): string[] {
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0 || list.length > ENDPOINTS_MAX) throw new InvalidParamsError('params.endpoints', `must be 1 to ${ENDPOINTS_MAX} multiaddrs where the other controllers dial it`);
  return list.map((a: unknown, i) => {
    const field = `params.endpoints[${i}]`;
    if (typeof a !== 'string' || a.length === 0 || a.length > ENDPOINT_CHARS_MAX) throw new InvalidParamsError(field, `must be a multiaddr of at most ${ENDPOINT_CHARS_MAX} characters`);
    let addr;
    try {
      addr = multiaddr(a);
    } catch (err) {
      throw new InvalidParamsError(field, `is not a multiaddr (${(err as Error).message})`);
    }
    const id = addr.getPeerId();
    if (id !== null && id !== peerId) throw new InvalidParamsError(field, `names peer ${id}, not ${peerId}`);
    const full = id === null ? `${addr.toString()}/p2p/${peerId}` : addr.toString();
    if (full.length > ENDPOINT_CHARS_MAX) throw new InvalidParamsError(field, `must be a multiaddr of at most ${ENDPOINT_CHARS_MAX} characters`);
    return full;
  });
}

// A change that does not apply is the caller's mistake (INVALID_ARGUMENT, or NOT_FOUND for a
// member that is not one); a proposal without a majority of the voters is refused like a fenced write.
function memberChangeAdminError(err: unknown): unknown {
  if (err instanceof MembershipRequestError) {
    const code = err.code === 'SELF' ? 'INVALID_ARGUMENT' : 'UNAVAILABLE';
    return new AdminError(code, err.message, { cause: err.code });
  }
  if (err instanceof MemberChangeError) {
    return new AdminError(err.code === 'NOT_A_MEMBER' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', err.message, { cause: err.code });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'NO_MAJORITY') return new AdminError('FENCED', `${(err as Error).message}: membership changes need a majority of the voters`, { cause: code });
  if (code === 'SETTLING' || code === 'SPREADING') return new AdminError('UNAVAILABLE', (err as Error).message, { cause: code });
  if (code === 'SUPERSEDED') return new AdminError('UNAVAILABLE', (err as Error).message, { cause: code });
  return err;
}
