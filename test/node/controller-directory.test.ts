// The controller directory (node/membership/controller-directory.ts): what a controller serves of its
// membership record to agents, over real framed streams; every malformed answer is refused with a coded
// error (never a crash), as is a frame over the bound; and the agent's configuration of learned
// controllers (controllers.learned, directoryRefreshMs) in AgentConfig and in the YAML file.
import t from 'tap';
import { duplexPair } from 'it-pair/duplex';
import { stringify } from 'yaml';
import {
  DIRECTORY_FRAME_BYTES_MAX, directoryOf, directoryStreamOptions, fetchControllerDirectory, parseControllerDirectory, serveControllerDirectory,
} from '../../node/membership/controller-directory.ts';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { applyMemberChange, initialMembers } from '../../membership/federation-members.ts';
import { AGENT_DEFAULTS, FAST_AGENT, learnedPriority, resolveAgentConfig, type AgentConfig } from '../../node/agent/agent-config.ts';
import { parseConfigText, type AgentFileConfig } from '../../node/config/file-config.ts';
import { ConfigError } from '../../node/errors.ts';
import { controllersProtocol } from '../../node/protocols.ts';
import { entry, peerId } from '../helpers/members-fixtures.ts';

// The deadlines' timers do not hold the process open (REAL_TIMERS unrefs them); this does, while tests wait on them.
const keepAlive = setInterval(() => undefined, 60_000);
t.teardown(() => clearInterval(keepAlive));

const first = { ...initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)].map((e) => ({ ...e, endpoints: [] }))) };
const added = applyMemberChange(first, { op: 'add', controller: { ...entry('d', 4), region: 'ap-south' } });
const removed = applyMemberChange(added, { op: 'remove', name: 'b' });

// A directory as a controller would write it, for malformed variants.
const good = (): any => JSON.parse(JSON.stringify(directoryOf(removed)));

t.test('the directory of a record: every controller without autoPromote, the denied peer IDs', async (t) => {
  t.equal(controllersProtocol('fed-1'), '/novaedge/fed-1/controllers/1.0.0');
  const d = directoryOf(removed);
  t.same(d, {
    t: 'directory', epoch: 3,
    controllers: [
      { name: 'a', peerId: peerId(1), endpoints: [], region: '' },
      { name: 'c', peerId: peerId(3), endpoints: [], region: '' },
      { name: 'd', peerId: peerId(4), endpoints: ['/ip4/127.0.0.1/tcp/9004'], region: 'ap-south' },
    ],
    denied: [peerId(2)],
  });
  t.same(parseControllerDirectory(good()), d, 'what a controller writes, an agent accepts');
});

t.test('over framed streams: the controller writes, the agent reads and validates', async (t) => {
  const [agentEnd, controllerEnd] = duplexPair<any>();
  const served = serveControllerDirectory(controllerEnd, { committed: removed }, REAL_TIMERS, 1_000);
  const d = await fetchControllerDirectory(async () => ({ duplex: agentEnd, close: async () => undefined }), REAL_TIMERS, 1_000);
  t.same(d, directoryOf(removed));
  t.same(await served, d);
});

t.test('malformed directories are refused with PROTOCOL, never applied', async (t) => {
  const cases: Array<[string, (d: any) => unknown]> = [
    ['not an object', () => [1, 2]],
    ['another message type', (d) => ({ ...d, t: 'record' })],
    ['an unknown field', (d) => ({ ...d, voters: ['a'] })],
    ['epoch 0', (d) => ({ ...d, epoch: 0 })],
    ['epoch not an integer', (d) => ({ ...d, epoch: 1.5 })],
    ['no controller', (d) => ({ ...d, controllers: [] })],
    ['too many controllers', (d) => ({ ...d, controllers: Array.from({ length: 33 }, (_, i) => ({ name: `c${i}`, peerId: peerId(100 + i), endpoints: [], region: '' })) })],
    ['a controller with an unknown field', (d) => { d.controllers[0].autoPromote = true; return d; }],
    ['a controller name that is no member name', (d) => { d.controllers[0].name = 'A B'; return d; }],
    ['a peer ID that is none', (d) => { d.controllers[0].peerId = 'Qm-not-a-peer'; return d; }],
    ['an endpoint that is not a multiaddr path', (d) => { d.controllers[2].endpoints = ['127.0.0.1:9000']; return d; }],
    ['an endpoint that does not parse', (d) => { d.controllers[2].endpoints = ['/ip4/not-an-ip/tcp/1']; return d; }],
    ['an endpoint naming another peer', (d) => { d.controllers[2].endpoints = [`/ip4/127.0.0.1/tcp/1/p2p/${peerId(1)}`]; return d; }],
    ['too many endpoints', (d) => { d.controllers[2].endpoints = Array.from({ length: 9 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`); return d; }],
    ['a region that is no label', (d) => { d.controllers[2].region = 'ap south'; return d; }],
    ['a name listed twice', (d) => { d.controllers[1].name = 'a'; return d; }],
    ['a peer ID listed twice', (d) => { d.controllers[1].peerId = peerId(1); return d; }],
    ['denied not a list', (d) => ({ ...d, denied: peerId(2) })],
    ['a denied entry that is no peer ID', (d) => ({ ...d, denied: [42] })],
    ['a denied peer ID listed twice', (d) => ({ ...d, denied: [peerId(2), peerId(2)] })],
    ['a controller both listed and denied', (d) => ({ ...d, denied: [peerId(4)] })],
    ['too many denied', (d) => ({ ...d, denied: Array.from({ length: 1_025 }, (_, i) => peerId(1_000 + i)) })],
  ];
  for (const [what, make] of cases) {
    t.throws(() => parseControllerDirectory(make(good())), { code: 'PROTOCOL' }, what);
  }
});

t.test('a malformed or oversized answer on the wire is a coded error for the agent', async (t) => {
  const answer = async (write: (s: MessageStream) => Promise<void>): Promise<unknown> => {
    const [agentEnd, controllerEnd] = duplexPair<any>();
    void write(new MessageStream(controllerEnd, { ...directoryStreamOptions(REAL_TIMERS, 1_000), frameBytesMax: 4 * DIRECTORY_FRAME_BYTES_MAX })).catch(() => undefined);
    return fetchControllerDirectory(async () => ({ duplex: agentEnd, close: async () => undefined }), REAL_TIMERS, 200);
  };
  await t.rejects(answer((s) => s.write({ ...good(), epoch: -1 })), { code: 'PROTOCOL' }, 'a bad field');
  await t.rejects(answer((s) => s.write({ t: 'directory', epoch: 1, controllers: [], denied: [], pad: 'x'.repeat(DIRECTORY_FRAME_BYTES_MAX) })),
    { code: 'FRAME_TOO_LARGE' }, 'over the size bound: refused at its length prefix');
  await t.rejects(answer(async () => undefined), { code: 'FRAME_TIMEOUT' }, 'no answer: the read times out');
});

t.test('agent configuration: learned controllers come after the configured ones, by region if told', async (t) => {
  const base = (over: Partial<AgentConfig['controllers']> = {}, rest: Partial<AgentConfig> = {}): AgentConfig => ({
    membership: { role: 'agent' } as AgentConfig['membership'],
    dataDir: '/tmp/x',
    controllers: { primary: { endpoint: `/ip4/127.0.0.1/tcp/1/p2p/${'12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'}` }, ...over },
    ...rest,
  });
  const d = resolveAgentConfig(base());
  t.same(d.learned, { priority: 200, regions: {}, controllers: {} }, 'default: priority 200, after the secondaries (100)');
  t.equal(AGENT_DEFAULTS.learnedPriority > AGENT_DEFAULTS.secondaryPriority, true, 'lower is preferred: configured controllers first');
  t.equal(d.directoryRefreshMs, 30_000, 'the directory is read every 30 s by default');
  t.equal(resolveAgentConfig(base(), FAST_AGENT).directoryRefreshMs, FAST_AGENT.directoryRefreshMs, 'faster in the fast profile');
  const r = resolveAgentConfig(base({ learned: { priority: 300, regions: { 'eu-west': 50 }, controllers: { 'sa-east': 10 } } }, { directoryRefreshMs: 5_000 }));
  t.same(r.learned, { priority: 300, regions: { 'eu-west': 50 }, controllers: { 'sa-east': 10 } });
  t.equal(learnedPriority(r.learned, 'eu-2', 'eu-west'), 50, 'by region');
  t.equal(learnedPriority(r.learned, 'sa-east', 'eu-west'), 10, 'by name, before its region');
  t.equal(learnedPriority(r.learned, 'us-2', 'us-east'), 300, 'another region: the learned priority');
  t.equal(learnedPriority(r.learned, 'x', ''), 300, 'no region: the learned priority');
  t.equal(learnedPriority(r.learned, 'constructor', 'constructor'), 300, 'no inherited property is a name or a region');

  const issues = (c: AgentConfig): string[] => {
    try {
      resolveAgentConfig(c);
      return [];
    } catch (err) {
      return (err as ConfigError).issues.map((i) => i.field);
    }
  };
  t.same(issues(base({ learned: { priority: -1 } })), ['controllers.learned.priority']);
  t.same(issues(base({ learned: { regions: { 'eu-west': 1.5 } } })), ['controllers.learned.regions.eu-west']);
  t.same(issues(base({ learned: { regions: { 'not a region': 1 } } })), ['controllers.learned.regions.not a region']);
  t.same(issues(base({ learned: { regions: [] as unknown as Record<string, number> } })), ['controllers.learned.regions']);
  t.same(issues(base({ learned: { extra: 1 } as never })), ['controllers.learned.extra']);
  t.same(issues(base({}, { directoryRefreshMs: 10 })), ['directoryRefreshMs']);
});

t.test('the YAML field spec.agent.controllers.learned', async (t) => {
  const PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
  const doc = (learned: unknown): string => stringify({
    apiVersion: 'novaedge.io/v1alpha1', kind: 'NovaEdgeAgent', metadata: { name: 'edge-1' },
    node: { identityKeyFile: 'edge-1.key', certificateFile: 'edge-1.cert', controllerCaFiles: ['ca.pub'], agentCaFiles: ['agents-ca.pub'], dataDir: '/var/lib/novaedge' },
    spec: { federationID: 'prod-global', localMember: { name: 'edge-1', region: 'us-west' }, agent: { controllers: { primary: { endpoint: 'c.example.com:9090', peerId: PEER }, learned } } },
  });
  const parse = (learned: unknown): AgentFileConfig => parseConfigText(doc(learned), { baseDir: '/etc/novaedge', files: { file: () => undefined } }) as AgentFileConfig;
  const a = parse({ priority: 250, regions: { 'us-west': 10, 'eu-west': 150 }, refreshInterval: '10s' });
  t.same(a.agent.controllers.learned, { priority: 250, regions: { 'us-west': 10, 'eu-west': 150 } });
  t.same(parse({ controllers: { 'sa-east': 5 } }).agent.controllers.learned, { controllers: { 'sa-east': 5 } }, 'by controller name');
  t.equal(a.agent.directoryRefreshMs, 10_000);
  const none = parse(undefined);
  t.equal(none.agent.controllers.learned, undefined, 'absent: the defaults');
  t.equal(none.agent.directoryRefreshMs, undefined);
  const fields = (learned: unknown): string[] => {
    try {
      parse(learned);
      return [];
    } catch (err) {
      return (err as ConfigError).issues.map((i) => i.field);
    }
  };
  t.same(fields({ priority: 'high' }), ['spec.agent.controllers.learned.priority']);
  t.same(fields({ regions: { 'us-west': -5 } }), ['spec.agent.controllers.learned.regions.us-west']);
  t.same(fields({ regions: { 'us west': 5 } }), ['spec.agent.controllers.learned.regions.us west']);
  t.same(fields({ regions: ['us-west'] }), ['spec.agent.controllers.learned.regions']);
  t.same(fields({ prority: 5 }), ['spec.agent.controllers.learned.prority']);
  t.same(fields({ controllers: { 'Not A Name': 5 } }), ['spec.agent.controllers.learned.controllers.Not A Name']);
  t.same(fields({ refreshInterval: '1ms' }), ['spec.agent.controllers.learned.refreshInterval'], 'a refresh interval below the bound is refused');
});
