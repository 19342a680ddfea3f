import t from 'tap';
import { parseKey, parseResource } from '../../storage/logic/resource.ts';

const ok = { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'api', namespace: 'default' }, spec: {} };

t.test('valid resources get a key; namespace defaults to "default"', async (t) => {
  const p = parseResource({ ...ok, metadata: { name: 'api' } });
  t.equal(p.key, 'ProxyRoute/default/api');
  t.equal(p.resource.metadata.namespace, 'default');
  t.equal(parseResource(JSON.stringify(ok)).key, 'ProxyRoute/default/api', 'JSON text is accepted');
});

t.test('bad input is refused with an error that names the problem', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['missing kind', { ...ok, kind: undefined }, /^kind: is required/],
    ['lowercase kind', { ...ok, kind: 'proxyroute' }, /^kind: .*CamelCase/],
    ['missing metadata', { apiVersion: 'v1', kind: 'ProxyRoute' }, /^metadata: is required/],
    ['missing name', { ...ok, metadata: { namespace: 'default' } }, /^metadata\.name: is required/],
    ['bad name characters', { ...ok, metadata: { name: 'API/../x' } }, /^metadata\.name: .*lowercase/],
    ['bad namespace', { ...ok, metadata: { name: 'a', namespace: 'Bad_NS' } }, /^metadata\.namespace: /],
    ['missing apiVersion', { ...ok, apiVersion: '' }, /^apiVersion: is required/],
    ['not JSON', '{"kind": ', /^resource: not valid JSON/],
    ['an array', [ok], /^resource: must be a JSON object/],
    ['a number', 42, /^resource: must be a JSON object/],
    ['non-finite number', { ...ok, spec: { x: Infinity } }, /^resource\.spec\.x: is not a finite number/],
    ['too deep', { ...ok, spec: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }, /nested deeper than 32/],
    ['oversized', { ...ok, spec: { blob: 'x'.repeat(1024 * 1024) } }, /^resource: \d+ bytes, larger than the 1048576-byte limit/],
  ];
  for (const [name, input, re] of cases) {
    t.throws(() => parseResource(input), { code: 'INVALID_ARGUMENT', message: re }, name);
  }
});

t.test('keys are validated', async (t) => {
  t.same(parseKey('ProxyRoute/default/api'), { kind: 'ProxyRoute', namespace: 'default', name: 'api' });
  for (const bad of ['ProxyRoute/default', 'ProxyRoute/default/api/x', 'proxyroute/default/api', 'ProxyRoute/De/api', '']) {
    t.throws(() => parseKey(bad), { code: 'INVALID_ARGUMENT' }, bad);
  }
});

t.test('the input object is not modified', async (t) => {
  const input = { ...ok, metadata: { name: 'api' } };
  parseResource(input);
  t.same(input.metadata, { name: 'api' });
});
