// The parts that bound an admin connection: the line splitter drops blank lines (also split across
// chunks) without allocating, the request queue counts a fixed cost per line, and the connection
// slots give a newcomer the slot of the longest-idle connection, never of a working one.
import t from 'tap';
import fc from 'fast-check';
import { LineSplitter } from '../../node/admin/line-splitter.ts';
import { ADMIN_QUEUED_LINE_OVERHEAD_BYTES, RequestQueue } from '../../node/admin/request-queue.ts';
import { ConnectionSlots } from '../../node/util/connection-slots.ts';
import { check, runs } from '../helpers/fc-run.ts';

const text = (r: { lines: Buffer[] }): string[] => r.lines.map((l) => l.toString());

t.test('the splitter drops blank lines, whole or split across chunks', async (t) => {
  const s = new LineSplitter(64);
  t.same(text(s.push(Buffer.from('\n\n \n\t\r\n{"a":1}\n  \n'))), ['{"a":1}']);
  t.same(text(s.push(Buffer.from('  '))), [], 'blank so far');
  t.same(text(s.push(Buffer.from(' \n'))), [], 'a blank line split across chunks');
  t.same(text(s.push(Buffer.from('  '))), []);
  t.same(text(s.push(Buffer.from('x \n'))), ['  x '], 'a line that starts blank is kept whole');
  t.same(text(s.push(Buffer.from(' \t'))), []);
  t.equal(s.end(), undefined, 'a blank unfinished line at the end is dropped');
  const u = new LineSplitter(64);
  u.push(Buffer.from(' 7'));
  t.same(u.end()?.toString(), ' 7', 'a non-blank unfinished line is returned at the end');
  const v = new LineSplitter(4);
  t.same(v.push(Buffer.from(`${' '.repeat(5)}\n`)), { lines: [], overflow: true }, 'a long blank line still overflows the bound');
});

t.test('splitting is the same however the stream is cut (property)', async (t) => {
  const alphabet = ['\n', ' ', '\t', '\r', 'a', '{', '}'];
  const expected = (s: string): string[] => s.split('\n').slice(0, -1).filter((l) => !/^[ \t\r]*$/.test(l));
  check(t, fc.property(
    fc.array(fc.constantFrom(...alphabet), { maxLength: 200 }).map((a) => a.join('')),
    fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 10 }),
    (stream, cuts) => {
      const s = new LineSplitter(1024);
      const got: string[] = [];
      let at = 0;
      for (const c of [...cuts, stream.length]) {
        const end = Math.min(stream.length, at + c);
        got.push(...text(s.push(Buffer.from(stream.slice(at, end)))));
        at = end;
      }
      return JSON.stringify(got) === JSON.stringify(expected(stream));
    },
  ), runs(300));
});

t.test('the request queue is FIFO and counts bytes plus a fixed overhead per line', async (t) => {
  const q = new RequestQueue();
  for (let i = 0; i < 5000; i++) q.push(Buffer.from(String(i)));
  q.push('eof');
  const cost = Array.from({ length: 5000 }, (_, i) => String(i).length + ADMIN_QUEUED_LINE_OVERHEAD_BYTES).reduce((a, b) => a + b, 0);
  t.equal(q.cost, cost, 'one-byte lines cost the overhead each; markers cost nothing');
  t.equal(q.length, 5001);
  for (let i = 0; i < 5000; i++) {
    const item = q.shift();
    if (!Buffer.isBuffer(item) || item.toString() !== String(i)) { t.fail(`item ${i} out of order`); return; }
  }
  t.equal(q.shift(), 'eof');
  t.equal(q.shift(), undefined);
  t.equal(q.cost, 0);
  t.equal(q.length, 0);
});

t.test('connection slots: the longest-idle connection makes way, a working one never', async (t) => {
  const slots = new ConnectionSlots<string>(3);
  t.same(slots.admit('a'), { admitted: true, evicted: undefined });
  t.same(slots.admit('b'), { admitted: true, evicted: undefined });
  t.same(slots.admit('c'), { admitted: true, evicted: undefined });
  slots.working('a');
  slots.idle('a'); // a worked last: now the newest idle one
  t.same(slots.admit('d'), { admitted: true, evicted: 'b' }, 'b has been idle the longest');
  slots.working('c');
  slots.working('d');
  t.same(slots.admit('e'), { admitted: true, evicted: 'a' });
  slots.working('e');
  t.same(slots.admit('f'), { admitted: false }, 'every connection working: refused');
  t.equal(slots.size, 3);
  slots.release('c');
  t.same(slots.admit('f'), { admitted: true, evicted: undefined });
  slots.release('b'); // already evicted: nothing happens
  t.equal(slots.size, 3);
  t.throws(() => new ConnectionSlots(0), RangeError);
});
