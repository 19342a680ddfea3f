// The controller's admin method table without a running node: every method validates its params
// and names the offending field; node and storage errors map to the stable admin codes.
import t from 'tap';
import { ADMIN_ERROR_CODES, classifyError, toRpcError, InvalidParamsError } from '../../node/admin/admin-errors.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import type { AgentsResult } from '../../node/admin/controller-api.ts';
import type { PeerView } from '../../membership/peer-table.ts';
import { monotonicMs } from '../../node/util/clock.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import type { ControllerNode } from '../../node/controller/controller-node.ts';
import { FencedError } from '../../node/controller/write-fence.ts';
import { FrameError, NodeStateError } from '../../node/errors.ts';
import { QuorumTimeoutError } from '../../node/replication/replicator.ts';
import { ProtocolError } from '../../node/wire/protocol-error.ts';
import {
  ClockSkewError, CommitQueueFullError, ConflictPendingError, InvalidRecordError, InvalidResourceError, NotFoundError,
  StoreClosedError, StoreFailedError,
} from '../../storage/index.ts';

const methods = controllerMethods({ membership: { memberName: 'a' } } as unknown as ControllerNode);

t.test('the method list', async (t) => {
  t.same(Object.keys(methods).sort(), [
    'agents.list', 'conflicts.describe', 'conflicts.resolve', 'federation.conflicts', 'federation.members.add', 'federation.members.deny', 'federation.members.list', 'federation.members.promote', 'federation.members.remove', 'federation.reconcile', 'federation.status',
    'federation.sync', 'federation.watch', 'resources.apply', 'resources.delete', 'resources.get', 'resources.kinds', 'resources.list',
    'resources.watch',
  ]);
});

t.test('params are validated, naming the field', async (t) => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['federation.status', { verbose: 'yes' }, /params\.verbose: must be true or false/],
    ['federation.status', [true], /params: must be an object/],
    ['federation.conflicts', { x: 1 }, /params\.x: unknown field \(this method takes no parameters\)/],
    ['conflicts.describe', {}, /params\.key: is required/],
    ['conflicts.describe', { key: 'ProxyRoute/default' }, /params\.key: .*is not Kind\/namespace\/name/],
    ['conflicts.describe', { key: 'proxyroute/default/x' }, /params\.key: key\.kind/],
    ['conflicts.resolve', { key: 'K/default/x' }, /params\.keep: is required \(one of local, remote\)/],
    ['conflicts.resolve', { key: 'K/default/x', keep: 'mine' }, /params\.keep: must be one of local, remote/],
    ['conflicts.resolve', { key: 'K/default/x', keep: 'local', durability: 'disk' }, /params\.durability: must be one of local, quorum/],
    ['federation.sync', {}, /params\.peer: is required/],
    ['federation.sync', { peer: 7 }, /params\.peer: must be a non-empty string/],
    ['resources.apply', {}, /params\.resources: is required/],
    ['resources.apply', { resources: [] }, /params\.resources: must not be empty/],
    ['resources.apply', { resources: {} }, /params\.resources: must be an array/],
    ['resources.apply', { resources: [{}, 'x'] }, /params\.resources\[1\]: must be an object/],
    ['resources.apply', { resources: Array.from({ length: 10_001 }, () => ({})) }, /more than 10000/],
    ['resources.get', { key: 'K/default/x', extra: true }, /params\.extra: unknown field \(known fields: key\)/],
    ['resources.list', { limit: 0 }, /params\.limit: must be an integer from 1 to 10000/],
    ['resources.list', { kind: '' }, /params\.kind: must be a non-empty string/],
    ['resources.delete', { key: 'x'.repeat(2000) }, /params\.key: is longer than 1024/],
  ];
  for (const [name, params, message] of bad) {
    const err = (() => { try { methods[name]!.params(params); return undefined; } catch (e) { return e; } })();
    t.ok(err instanceof InvalidParamsError, `${name} ${JSON.stringify(params).slice(0, 60)} refused`);
    t.match((err as Error).message, message);
    t.equal(toRpcError(err).code, -32602);
  }
  t.same(methods['federation.status']!.params(undefined), { verbose: false }, 'absent params');
  t.same(methods['resources.list']!.params({ kind: 'ProxyRoute' }), { kind: 'ProxyRoute', namespace: undefined, limit: 1000 });
  t.same(methods['conflicts.resolve']!.params({ key: 'K/default/x', keep: 'remote', durability: 'quorum' }),
    { key: 'K/default/x', keep: 'remote', opts: { durability: 'quorum' } });
});

t.test('node and storage errors map to stable codes', async (t) => {
  const cases: Array<[unknown, string, string | undefined]> = [
    [new FencedError('no quorum'), 'FENCED', undefined],
    [new NotFoundError('K/d/x'), 'NOT_FOUND', undefined],
    [new ConflictPendingError('K/d/x'), 'CONFLICT', undefined],
    [new InvalidResourceError('metadata.name', 'bad'), 'INVALID_ARGUMENT', undefined],
    [new InvalidRecordError('bad record'), 'INVALID_ARGUMENT', 'INVALID_RECORD'],
    [new QuorumTimeoutError('1 of 3'), 'QUORUM_TIMEOUT', undefined],
    [new NodeStateError('node is stopped'), 'NODE_STOPPED', 'NODE_STATE'],
    [new NodeStateError('b is not connected'), 'UNAVAILABLE', 'NODE_STATE'],
    [new StoreClosedError(), 'NODE_STOPPED', 'CLOSED'],
    [new StoreFailedError(new Error('disk')), 'UNAVAILABLE', 'STORE_FAILED'],
    [new CommitQueueFullError(10), 'BUSY', undefined],
    [new ProtocolError('bad frame'), 'UNAVAILABLE', 'PROTOCOL'],
    [new FrameError('FRAME_TIMEOUT', 'slow'), 'UNAVAILABLE', 'FRAME_TIMEOUT'],
    [new ClockSkewError(9000, 5000), 'UNAVAILABLE', 'CLOCK_SKEW'],
    [Object.assign(new Error('nope'), { code: 'ENOENT' }), 'INTERNAL', 'ENOENT'],
    [new Error('plain'), 'INTERNAL', undefined],
    ['a string', 'INTERNAL', undefined],
  ];
  for (const [err, code, cause] of cases) {
    t.same(classifyError(err), cause === undefined ? { code } : { code, cause }, `${(err as Error).constructor?.name ?? typeof err} → ${code}`);
    const rpc = toRpcError(err);
    t.equal(rpc.code, ADMIN_ERROR_CODES[code as keyof typeof ADMIN_ERROR_CODES]);
    t.equal(rpc.data.code, code);
  }
  const numbers = Object.values(ADMIN_ERROR_CODES);
  t.equal(new Set(numbers).size, numbers.length, 'numeric codes are distinct');
  t.ok(numbers.every((n) => (n >= -32099 && n <= -32000) || [-32700, -32600, -32601, -32602, -32603].includes(n)), 'codes in the JSON-RPC ranges');
});

t.test('agents.list: the RTT is the one each agent reported to this controller', async (t) => {
  const agent = (member: string, reportedRttMs?: Record<string, number>): Partial<PeerView> => ({
    member, role: 'agent', region: 'r', zone: 'z', state: 'Healthy', reachable: ['c1'], lastHeardAtMs: monotonicMs(),
    // Plain objects (the table's have no prototype): the view must not rely on that.
    ...(reportedRttMs === undefined ? {} : { reportedRttMs }),
    rtt: { smoothedMs: 999, lastMs: 999, minMs: 999, samples: 1 }, // this node's own figure: not what the view shows
  });
  const list = async (self: string): Promise<Record<string, number | undefined>> => {
    const peers = [
      agent('a1', { [self]: 4.2, other: 80 }), agent('a2', { other: 7 }), agent('a3'),
      { member: 'c9', role: 'controller', rtt: { smoothedMs: 1, lastMs: 1, minMs: 1, samples: 1 } },
    ];
    const node = {
      components: { timers: REAL_TIMERS },
      membership: { memberName: self, peers: () => peers, authenticatedPeers: () => [{ member: 'a4', role: 'agent' }] },
    };
    const r = await controllerMethods(node as unknown as ControllerNode)['agents.list']!.handler({}) as AgentsResult;
    return Object.fromEntries(r.agents.map((a) => [a.name, a.rttMs]));
  };
  t.same(await list('c1'), { a1: 4.2, a2: undefined, a3: undefined, a4: undefined },
    'a1 reported c1; a2 only another controller; a3 nothing; a4 connected without a heartbeat yet');
  t.same(await list('constructor'), { a1: 4.2, a2: undefined, a3: undefined, a4: undefined }, 'a controller named like a prototype key');
});
