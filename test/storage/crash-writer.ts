// Child process for the crash test: writes unique keys with 16 concurrent writers and prints each key
// once its write is acknowledged (durable). The parent kills it with SIGKILL mid-stream.
import { Store } from '../../storage/index.ts';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: crash-writer.ts DIR');
const store = await Store.open({ path, member: 'writer', strategy: 'LastWriterWins' });
let next = 0;
async function writer(): Promise<void> {
  while (true) {
    const i = next++;
    const r = await store.apply({
      apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `k${i}` }, spec: { i, pad: 'x'.repeat(512) },
    });
    process.stdout.write(`${r.view.key}\n`);
  }
}
await Promise.all(Array.from({ length: 16 }, writer));
