// Opens a store in a fresh process and prints time to open and RSS, as JSON.
import { Store } from '../storage/index.ts';

const path = process.argv[2]!;
const start = performance.now();
const store = await Store.open({ path, member: 'bench', strategy: 'LastWriterWins' });
const openMs = performance.now() - start;
const rssMb = process.memoryUsage().rss / 1024 / 1024;
console.log(JSON.stringify({ openMs, rssMb, size: store.size }));
await store.close();
