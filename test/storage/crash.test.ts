// A crash (SIGKILL) loses no acknowledged write, and the store reopens cleanly.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Store } from '../../storage/index.ts';

const writer = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));

for (const ackedBeforeKill of [1, 400, 2000]) {
  t.test(`SIGKILL after ${ackedBeforeKill} acknowledged writes`, async (t) => {
    const dir = t.testdir();
    const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let partial = '';
    const killed = new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('writer too slow')); }, 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop()!;
        acked.push(...lines);
        if (acked.length >= ackedBeforeKill && child.exitCode === null && !child.killed) {
          clearTimeout(deadline);
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => { clearTimeout(deadline); resolve(); });
    });
    await killed;
    t.equal(child.signalCode, 'SIGKILL', 'the writer was killed, not finished');
    const store = await Store.open({ path: dir, member: 'writer', strategy: 'LastWriterWins' });
    t.teardown(() => store.close());
    const records = await store.getRecords(acked);
    const missing = acked.filter((_, i) => records[i] === undefined);
    t.same(missing, [], `all ${acked.length} acknowledged writes survived`);
    t.ok(store.size >= acked.length, `store holds ${store.size} keys`);
    t.ok(store.seq >= acked.length, 'seq high-water covers them');
    // The reopened store keeps working.
    t.ok((await store.apply({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: 'after' } })).changed);
  });
}
