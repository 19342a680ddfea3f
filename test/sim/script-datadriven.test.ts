// The scenario file format (datadriven's) and the words of a command line.
import t from 'tap';
import type { Json } from '../../storage/logic/canonical.ts';
import { assignPath, parseDuration, parseRate, parseValue, splitArgs, tokenize } from './script/args.ts';
import { outputMatches, parseScenario, renderScenario, ScenarioSyntaxError, type Block } from './script/datadriven.ts';

const FILE = `# A comment at the top.

cluster controllers=a,b \\
  agents=x
----
ok

# Between blocks.
write a ProxyRoute/default/k
{"spec": {"v": 1}}
----
ok a:1

tick 1s
----
----
first

after a blank line
----
----

status a
----
`;

t.test('parse: commands, continuations, input, single and double separators, empty output at the end', async (t) => {
  const chunks = parseScenario(FILE, 'f.txt');
  const blocks = chunks.filter((c) => c.kind === 'block').map((c) => (c as { block: Block }).block);
  t.same(blocks.map((b) => [b.line, b.command, b.input, b.expected]), [
    [3, 'cluster controllers=a,b agents=x', '', 'ok'],
    [9, 'write a ProxyRoute/default/k', '{"spec": {"v": 1}}', 'ok a:1'],
    [14, 'tick 1s', '', 'first\n\nafter a blank line'],
    [23, 'status a', '', ''],
  ]);
  t.same(chunks.filter((c) => c.kind === 'text').map((c) => (c as { line: string }).line), ['# A comment at the top.', '', '# Between blocks.']);
});

t.test('render: the file back unchanged, or with new outputs in the right form', async (t) => {
  const chunks = parseScenario(FILE);
  t.equal(renderScenario(chunks, () => undefined), FILE.replace(/\n+$/, '\n'));
  const out = renderScenario(chunks, (b) => (b.command.startsWith('status') ? 'a: Healthy\n\nwith a gap' : b.command.startsWith('tick') ? 'one line' : undefined));
  t.match(out, /tick 1s\n----\none line\n\nstatus a\n----\n----\na: Healthy\n\nwith a gap\n----\n----\n$/);
  // What was rendered parses back to the same outputs.
  const again = parseScenario(out).filter((c) => c.kind === 'block').map((c) => (c as { block: Block }).block.expected);
  t.same(again, ['ok', 'ok a:1', 'one line', 'a: Healthy\n\nwith a gap']);
});

t.test('parse: malformed files are refused with the line', async (t) => {
  t.throws(() => parseScenario('tick 1s\nok\n', 'f.txt'), new ScenarioSyntaxError('f.txt:1: "tick 1s" has no ---- line after it'));
  t.throws(() => parseScenario('tick 1s\n----\n----\nx\n', 'f.txt'), { code: 'SCENARIO_SYNTAX', message: /f\.txt:1: output opened with ---- ---- is not closed/ });
  t.throws(() => parseScenario('tick 1s\n----\n----\nx\n----\n----\ny\n', 'f.txt'), { message: /f\.txt:7: a non-blank line after the closing/ });
});

t.test('outputs compare without trailing whitespace', async (t) => {
  t.ok(outputMatches('ok\n', 'ok'));
  t.notOk(outputMatches('ok', 'ok a:1'));
});

t.test('tokens, durations, rates, values, paths', async (t) => {
  t.same(tokenize('write a K spec.host="a b" x=1'), ['write', 'a', 'K', 'spec.host="a b"', 'x=1']);
  t.throws(() => tokenize('write "a'), { code: 'SCRIPT', name: 'ScriptError', message: 'unclosed quote in: write "a' });
  t.same(['3s', '500ms', '1.5s', '2m', '+8s', '-2s', '0', '1h'].map((d) => parseDuration(d)), [3000, 500, 1500, 120_000, 8000, -2000, 0, 3_600_000]);
  t.throws(() => parseDuration('3'), { code: 'SCRIPT', message: /duration "3" is not a duration/ });
  t.throws(() => parseDuration('3 s'));
  t.same([parseRate('5%'), parseRate('0.25'), parseRate('100%')], [0.05, 0.25, 1]);
  t.throws(() => parseRate('150%'));
  t.same([parseValue('1'), parseValue('true'), parseValue('"a b"'), parseValue('abc'), parseValue('[1,2]')], [1, true, 'a b', 'abc', [1, 2]]);
  const r: { [k: string]: Json } = { spec: { keep: 1 } };
  assignPath(r, 'spec.rules.host', 'h');
  assignPath(r, 'spec.constructor', 2);
  t.same(r, { spec: { keep: 1, rules: { host: 'h' }, constructor: 2 } });
  t.throws(() => assignPath(r, 'spec.keep.x', 1), /goes through a value that is not an object/);
  t.throws(() => assignPath(r, 'spec..x', 1), /bad field path/);
  const { words, opts } = splitArgs(['a', 'k=1', 'b', 'within=3s']);
  t.same([words, [...opts]], [['a', 'b'], [['k', '1'], ['within', '3s']]]);
});
