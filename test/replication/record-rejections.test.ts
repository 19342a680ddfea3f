// Refused records are counted per peer and reason, and logged at warn at most once per peer per
// reason per minute (a peer can send thousands a second), with the count since the last line.
import t from 'tap';
import { OTHER_PEER, RecordRejections } from '../../node/replication/record-rejections.ts';

function harness(peersMax?: number): { r: RecordRejections; lines: Array<Record<string, unknown>>; clock: { ms: number } } {
  const lines: Array<Record<string, unknown>> = [];
  const clock = { ms: 1_000 };
  const r = new RecordRejections({
    log: { warn: (o: unknown) => { lines.push(o as Record<string, unknown>); } }, nowMs: () => clock.ms,
    ...(peersMax === undefined ? {} : { peersMax }),
  });
  return { r, lines, clock };
}

t.test('one warn line per peer and reason per minute; every refusal counted', async (t) => {
  const { r, lines, clock } = harness();
  for (let i = 0; i < 1_000; i++) r.refused('c2', 'too_large', `ProxyRoute/default/r${i}`, 'too big');
  r.refused('c2', 'clock_skew', 'ProxyRoute/default/x', 'ahead');
  r.refused('c3', 'too_large', 'ProxyRoute/default/x', 'too big');
  t.equal(lines.length, 3, 'one line for each (peer, reason), not one per record');
  t.match(lines[0], { peer: 'c2', reason: 'too_large', key: 'ProxyRoute/default/r0', refused: 1 });
  clock.ms += 59_999;
  r.refused('c2', 'too_large', 'k', 'd');
  t.equal(lines.length, 3, 'still within the minute');
  clock.ms += 1;
  r.refused('c2', 'too_large', 'k', 'd');
  t.equal(lines.length, 4, 'a minute later, one more line');
  t.match(lines[3], { peer: 'c2', reason: 'too_large', refused: 1001, total: 1002 }, 'saying how many were refused since the last one');
  t.equal(r.count('c2', 'too_large'), 1002);
  t.equal(r.count('c2'), 1003);
  t.same(r.counts().sort((a, b) => (a.peer + a.reason < b.peer + b.reason ? -1 : 1)), [
    { peer: 'c2', reason: 'clock_skew', count: 1 },
    { peer: 'c2', reason: 'too_large', count: 1002 },
    { peer: 'c3', reason: 'too_large', count: 1 },
  ]);
});

t.test('the peer label set is bounded', async (t) => {
  const { r } = harness(2);
  r.refused('a', 'malformed', 'k', 'd');
  r.refused('b', 'malformed', 'k', 'd');
  r.refused('c', 'malformed', 'k', 'd');
  r.refused('d', 'malformed', 'k', 'd');
  t.same(r.counts().map((c) => c.peer).sort(), ['a', 'b', OTHER_PEER]);
  t.equal(r.count(OTHER_PEER), 2);
});
