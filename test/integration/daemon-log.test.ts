// The daemon's readable log format (`--log-format pretty`): one line per pino record, time, level,
// component, message, then the other fields as key=value; anything that is not JSON passes through.
import t from 'tap';
import { prettyDestination, prettyLine } from '../../cmd/novaedge/pretty-log.ts';

t.test('pretty lines', async (t) => {
  const line = JSON.stringify({ level: 30, time: '2026-01-02T12:04:05.123Z', pid: 7, component: 'replication', member: 'eu-west', msg: 'peer connected', lagMs: 3, addrs: ['/ip4/1.2.3.4/tcp/1'], note: 'two words' });
  t.equal(prettyLine(line), '12:04:05.123 INFO  [replication] peer connected member=eu-west lagMs=3 addrs=["/ip4/1.2.3.4/tcp/1"] note="two words"\n');
  t.equal(prettyLine(JSON.stringify({ level: 50, time: 0, msg: 'x' })), '00:00:00.000 ERROR x\n');
  t.equal(prettyLine('not json'), 'not json\n');
  const out: string[] = [];
  prettyDestination({ write: (s: string) => out.push(s) }).write(`${JSON.stringify({ level: 40, time: 0, msg: 'a' })}\n${JSON.stringify({ level: 20, time: 0, msg: 'b' })}\n`);
  t.same(out, ['00:00:00.000 WARN  a\n', '00:00:00.000 DEBUG b\n']);
});
