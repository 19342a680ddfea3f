// Issue 19 §2: a controller whose endpoint is 127.0.0.1 listened on 0.0.0.0; it now listens on its
// endpoint's host by default. And spec.resourceKinds, the kinds a federation stores besides
// NovaEdge's own, read from the file and checked under its path.
import t from 'tap';
import { stringify } from 'yaml';
import { parseConfigText, type ControllerFileConfig } from '../../node/config/file-config.ts';
import type { FileChecks } from '../../node/config/node-settings.ts';
import { ConfigError } from '../../node/errors.ts';

const PEER_EU = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const ALL_FILES_EXIST: FileChecks = { file: () => undefined };

function file(endpoint: string | undefined, spec: object = {}, node: object = {}): string {
  return stringify({
    apiVersion: 'novaedge.io/v1alpha1', kind: 'NovaEdgeFederation',
    node: { identityKeyFile: 'k', certificateFile: 'c', controllerCaFiles: ['ca.pub'], dataDir: 'data', ...node },
    spec: {
      federationID: 'fed', localMember: { name: 'us-west', region: 'us-west', ...(endpoint === undefined ? {} : { endpoint }) },
      members: [{ name: 'eu-west', endpoint: '127.0.0.1:7102', peerId: PEER_EU }], ...spec,
    },
  });
}
const parse = (text: string): ControllerFileConfig => parseConfigText(text, { baseDir: '/etc/novaedge', files: ALL_FILES_EXIST }) as ControllerFileConfig;
const listenOf = (endpoint: string | undefined): string[] => parse(file(endpoint)).node.listen;

t.test('the default listen address is the endpoint\'s host and port', async (t) => {
  t.same(listenOf('127.0.0.1:7101'), ['/ip4/127.0.0.1/tcp/7101'], 'a loopback endpoint listens on loopback only');
  t.same(listenOf('10.0.0.5:9090'), ['/ip4/10.0.0.5/tcp/9090']);
  t.same(listenOf('[::1]:9090'), ['/ip6/::1/tcp/9090']);
  t.same(listenOf('localhost:7101'), ['/ip4/127.0.0.1/tcp/7101']);
  t.same(listenOf('/ip4/127.0.0.1/tcp/7101'), ['/ip4/127.0.0.1/tcp/7101'], 'a multiaddr endpoint');
  t.same(listenOf('controller.us-west.example.com:9090'), ['/ip4/0.0.0.0/tcp/9090'], 'a DNS name: every interface');
  t.same(listenOf(undefined), ['/ip4/0.0.0.0/tcp/9090'], 'no endpoint');
  t.same(parse(file('127.0.0.1:7101', {}, { listen: ['/ip4/0.0.0.0/tcp/7101'] })).node.listen, ['/ip4/0.0.0.0/tcp/7101'], 'node.listen still wins');
});

t.test('spec.resourceKinds', async (t) => {
  t.same(parse(file('127.0.0.1:7101', { resourceKinds: ['FooBar'] })).controller.replication.resourceKinds, ['FooBar']);
  t.equal(parse(file('127.0.0.1:7101')).controller.replication.resourceKinds, undefined, 'none added by default');
  const err = t.throws(() => parse(file('127.0.0.1:7101', { resourceKinds: ['fooBar', 'ProxyRoute'] }))) as ConfigError;
  t.same(err.issues.map((i) => i.field), ['spec.resourceKinds[0]', 'spec.resourceKinds[1]'], 'named by their path in the file');
});
