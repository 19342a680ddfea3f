// sync.quorumTimeout: the deadline of a quorum-durable write's acknowledgements, apart from the stream
// deadline (sync.timeout), which it follows unless set.
import t from 'tap';
import { stringify } from 'yaml';
import { resolveReplicationConfig } from '../../node/config/replication-config.ts';
import { parseConfigText, type ControllerFileConfig } from '../../node/config/file-config.ts';
import { ConfigError } from '../../node/errors.ts';

const base = { dataDir: '/d', controllers: ['a', 'b', 'c'] };

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.field}: ${i.problem}`);
    throw e;
  }
  return [];
}

t.test('resolved: follows sync.timeout unless set, and is checked on its own', async (t) => {
  t.match(resolveReplicationConfig(base, 'a').sync, { timeoutMs: 30_000, quorumTimeoutMs: 30_000 }, 'default: today\'s sync.timeout');
  t.match(resolveReplicationConfig({ ...base, sync: { timeoutMs: 5_000 } }, 'a').sync, { timeoutMs: 5_000, quorumTimeoutMs: 5_000 });
  t.match(resolveReplicationConfig({ ...base, sync: { quorumTimeoutMs: 2_000 } }, 'a').sync, { timeoutMs: 30_000, quorumTimeoutMs: 2_000 }, 'set apart');
  t.match(fieldsOf(() => resolveReplicationConfig({ ...base, sync: { quorumTimeoutMs: 50 } }, 'a')), [/^sync\.quorumTimeoutMs: must be an integer in 100\.\.3600000/]);
});

t.test('config file: spec.sync.quorumTimeout is a duration read apart from spec.sync.timeout', async (t) => {
  const doc = {
    apiVersion: 'novaedge.io/v1alpha1', kind: 'NovaEdgeFederation', metadata: { name: 'f' },
    node: { identityKeyFile: 'k', certificateFile: 'c', controllerCaFiles: ['ca'], dataDir: 'data' },
    spec: {
      federationID: 'fed', localMember: { name: 'a', region: 'r', endpoint: '10.0.0.1:9090' },
      members: [{ name: 'b', endpoint: '10.0.0.2:9090', peerId: '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA' }],
      sync: { timeout: '30s', quorumTimeout: '2s' },
    },
  };
  const c = parseConfigText(stringify(doc), { baseDir: '/etc/novaedge', files: { file: () => undefined } }) as ControllerFileConfig;
  t.match(c.controller.replication.sync, { timeoutMs: 30_000, quorumTimeoutMs: 2_000 });
  doc.spec.sync.quorumTimeout = '50ms';
  t.match(fieldsOf(() => parseConfigText(stringify(doc), { baseDir: '/etc/novaedge', files: { file: () => undefined } })),
    [/^spec\.sync\.quorumTimeout: must be an integer in 100ms\.\.1h/]);
});
