// `npm start`'s local federation as a user runs it: a separate process that comes up, replicates a
// write, stops cleanly on SIGINT, and reuses its keys and data on the next start.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../helpers/free-ports.ts';

const script = fileURLToPath(new URL('../../cmd/local-federation.ts', import.meta.url));

async function run(dir: string, ports: number[]): Promise<string> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, NOVAEDGE_DATA: dir, NOVAEDGE_PORTS: ports.join(',') }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`not ready within 60 s:\n${out}`)); }, 60_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('federation ready')) { clearTimeout(deadline); resolve(); }
    });
    child.on('exit', (code) => { clearTimeout(deadline); reject(new Error(`exited with ${code} before ready:\n${out}`)); });
  });
  await ready;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  const code = await exited;
  if (code !== 0) throw new Error(`exit code ${code} after SIGINT:\n${out}`);
  return out;
}

t.test('npm start: three controllers replicate, stop on Ctrl-C, and reuse their data', async (t) => {
  const dir = t.testdir();
  const ports = await freePorts(3);
  const first = await run(dir, ports);
  t.match(first, /resources held by us-west: 0/);
  t.match(first, /identical on eu-west and ap-east after [\d.]+ ms/);
  t.match(first, /eu-west +eu-west +Healthy/);
  t.match(first, /ap-east +ap-east +Healthy/);
  t.match(first, /stopped/);
  const second = await run(dir, ports);
  t.match(second, /resources held by us-west: 1/, 'the second start reopens the same data (same keys, same stores)');
});
