// The package as a user gets it: `npm pack` (which builds dist/ through `prepack`), the tarball
// installed into an empty project, and there: `import { createNode } from 'novaedge-federation'`
// type-checks against the shipped .d.ts and runs (a controller starts, writes and reads), and the
// `novactl` and `novaedge` bins work (keys and a certificate made with novactl, `novaedge --check`
// on a config that uses them). Also: the two libp2p packages NovaEdge adjusts at run time
// (node/host/yamux-window-updates.ts wraps a yamux internal, node/host/pre-auth-limits.ts edits
// yamux muxer fields, node/host/noise-crypto.ts swaps libp2p-noise's cipher) are installed at
// exactly the version the package pins, once, and the yamux adjustment is in effect in the
// installed copy.
//
// Offline: the project is installed with `npm ci --offline` from a lockfile derived from this
// repository's (the production entries, so the same versions the tests ran against), whose tarballs
// are in the local npm cache since this repository's own `npm ci`. Nothing leaves the machine; the
// controller listens on 127.0.0.1.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../helpers/daemon-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { freePorts } from '../helpers/free-ports.ts';

/** Deadline of one npm or node command, ms. */
const COMMAND_TIMEOUT_MS = 120_000;
const FEDERATION_ID = 'pack-test';
/** The libp2p packages NovaEdge adjusts at run time (see node/host/), pinned exactly in package.json. */
const PINNED = ['@chainsafe/libp2p-yamux', '@chainsafe/libp2p-noise'] as const;
const YAMUX_BATCHED = 'novaedge.yamux.window-updates-batched';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface PackageJson {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  engines?: Record<string, string>;
}

interface LockEntry {
  dev?: boolean;
  [field: string]: unknown;
}

// Children get Node 24 (the one running this test) first on PATH, since the bins start with
// `#!/usr/bin/env node`, and none of the outer npm's settings (npm_config_*: prefix, cache, ...).
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_')) env[k] = v;
  env.PATH = `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`;
  return env;
}

// tap wraps child_process to put its loader hooks into every child's NODE_OPTIONS (they break
// tsc's require of its ES module bin, and a user's install has none): `env -u` takes them out.
function run(file: string, args: string[], cwd: string): Promise<Result> {
  return new Promise((resolve) => {
    const opts = { cwd, env: childEnv(), timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 << 20 };
    execFile('env', ['-u', 'NODE_OPTIONS', file, ...args], opts, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run and require exit code 0 (the output goes into the failure message). */
async function ok(file: string, args: string[], cwd: string): Promise<Result> {
  const r = await run(file, args, cwd);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/**
 * package.json and package-lock.json of a project depending on the tarball only, its lockfile
 * holding this repository's production entries (hoisted the same way: the package's dependencies
 * are the repository's root dependencies).
 */
async function writeProject(dir: string, tarball: string, pkg: PackageJson): Promise<void> {
  const spec = `file:${tarball}`;
  const root = { name: 'consumer', version: '1.0.0', private: true, type: 'module', dependencies: { [pkg.name]: spec } };
  const repoLock = await readJson<{ packages: Record<string, LockEntry> }>(join(REPO_ROOT, 'package-lock.json'));
  const packages: Record<string, unknown> = {
    '': { name: root.name, version: root.version, dependencies: root.dependencies },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: spec, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    if (path.startsWith('node_modules/') && entry.dev !== true) packages[path] = entry;
  }
  await writeFile(join(dir, 'package.json'), JSON.stringify({ ...root, allowScripts: { 'classic-level': true } }, null, 2));
  await writeFile(join(dir, 'package-lock.json'), JSON.stringify({ name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages }, null, 2));
}

// The user's program: TypeScript against the package's types, run by Node from outside node_modules.
const CONSUMER_TS = (port: number): string => `import { createNode, type ControllerNode } from 'novaedge-federation';
import { startAdminServer } from 'novaedge-federation/admin';
import { createClient } from 'novaedge-federation/client';
import { createNodeRegistry } from 'novaedge-federation/metrics';
import { startNodeServices } from 'novaedge-federation/services';
import { Store } from 'novaedge-federation/storage';
import { YamuxStream } from '@chainsafe/libp2p-yamux/stream';

const controller: ControllerNode = await createNode({
  membership: {
    federationId: '${FEDERATION_ID}', memberName: 'solo', role: 'controller', region: 'local',
    listen: ['/ip4/127.0.0.1/tcp/${port}'],
    keyFile: 'solo.key', certificateFile: 'solo.cert', controllerCaFiles: ['ca.pub'],
    remoteClients: {},
  },
  replication: { dataDir: 'solo-data', controllers: ['solo'] },
});
try {
  const written = await controller.apply({
    apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute',
    metadata: { name: 'api', namespace: 'default' }, spec: { hostnames: ['api.example.com'] },
  });
  const read = await controller.get('ProxyRoute/default/api');
  // A remote operator, through the remote admin protocol that the node services start.
  const services = await startNodeServices(controller, { adminSocket: 'solo.sock', metrics: { host: '127.0.0.1', port: 0 }, processMetrics: false });
  const client = await createClient({ endpoints: ['/ip4/127.0.0.1/tcp/${port}'], identityKeyFile: 'alice.key', certificateFile: 'alice.cert', caFiles: ['ca.pub'] });
  const remote = await client.get('ProxyRoute/default/api');
  await client.close();
  await services.stop();
  const proto = YamuxStream.prototype as unknown as Record<symbol, unknown>;
  console.log(JSON.stringify({
    changed: written.changed,
    read: read?.value ?? null,
    origin: read?.origin,
    remoteName: remote.value?.metadata.name,
    subpaths: [startAdminServer, createNodeRegistry, startNodeServices, Store, createClient].every((f) => typeof f === 'function'),
    yamuxBatched: proto[Symbol.for('${YAMUX_BATCHED}')] === true,
  }));
} finally {
  await controller.stop();
}
`;

const CONSUMER_TSCONFIG = (typeRoots: string) => JSON.stringify({
  compilerOptions: {
    target: 'es2023', lib: ['es2023'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true,
    types: ['node'], typeRoots: [typeRoots], skipLibCheck: true, verbatimModuleSyntax: true, erasableSyntaxOnly: true,
  },
  files: ['consumer.ts'],
}, null, 2);

const CHECK_YAML = `apiVersion: novaedge.io/v1alpha1
kind: NovaEdgeFederation
metadata: { name: ${FEDERATION_ID} }
node:
  identityKeyFile: solo.key
  certificateFile: solo.cert
  controllerCaFiles: [ca.pub]
  dataDir: solo-data
  adminSocket: solo.sock
spec:
  federationID: ${FEDERATION_ID}
  localMember: { name: solo, region: local, endpoint: "127.0.0.1:7199" }
`;

t.test('npm pack, install the tarball offline into an empty project, use the API and the bins there', async (t) => {
  const packDir = await tempDir(t, 'novaedge-pack-');
  const project = await tempDir(t, 'novaedge-consumer-');

  const packed = await ok('npm', ['pack', '--json', '--pack-destination', packDir], REPO_ROOT);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const shipped = info!.files.map((f) => f.path);
  t.ok(shipped.includes('dist/node/index.js') && shipped.includes('dist/node/index.d.ts'), 'the tarball has the compiled entry point and its types');
  t.same(shipped.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')), [], 'no TypeScript sources (Node will not strip types under node_modules)');
  t.notOk(shipped.some((p) => p.startsWith('test/') || p.startsWith('bench/') || p.startsWith('dist/test/')), 'no tests or benchmarks');

  const repoPkg = await readJson<PackageJson>(join(REPO_ROOT, 'package.json'));
  await writeProject(project, join(packDir, info!.filename), repoPkg);
  await ok('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project);

  const installed = join(project, 'node_modules', repoPkg.name);
  const installedPkg = await readJson<PackageJson>(join(installed, 'package.json'));
  for (const name of PINNED) {
    const pin = installedPkg.dependencies[name]!;
    t.match(pin, /^\d+\.\d+\.\d+$/, `${name} is pinned exactly (${pin})`);
    const hoisted = await readJson<PackageJson>(join(project, 'node_modules', name, 'package.json'));
    t.equal(hoisted.version, pin, `${name} ${pin} is installed`);
    t.notOk(existsSync(join(installed, 'node_modules', name)), `${name}: one copy, the one the package and the consumer resolve`);
  }

  // The API, with its types.
  const [port] = await freePorts(1);
  await writeFile(join(project, 'consumer.ts'), CONSUMER_TS(port!));
  await writeFile(join(project, 'tsconfig.json'), CONSUMER_TSCONFIG(join(REPO_ROOT, 'node_modules', '@types')));
  const tsc = await run(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), ['-p', '.'], project);
  t.equal(tsc.code, 0, `the consumer type-checks against the shipped .d.ts\n${tsc.stdout}${tsc.stderr}`);

  // The bins: keys and a certificate for the controller, a config checked by the daemon.
  const bin = (name: string) => join(project, 'node_modules', '.bin', name);
  const help = await run(bin('novactl'), ['--help'], project);
  t.equal(help.code, 0, `novactl --help exits 0\n${help.stderr}`);
  t.match(help.stdout, /Usage: novactl/, 'novactl prints its usage');
  await ok(bin('novactl'), ['ca', 'init', '--out', 'ca.key', '--name', 'controllers'], project);
  await ok(bin('novactl'), ['keygen', '--out', 'solo.key'], project);
  await ok(bin('novactl'), ['ca', 'issue', '--ca', 'ca.key', '--member', 'solo', '--role', 'controller',
    '--federation', FEDERATION_ID, '--key', 'solo.key', '--out', 'solo.cert'], project);
  await ok(bin('novactl'), ['keygen', '--out', 'alice.key'], project);
  await ok(bin('novactl'), ['ca', 'issue', '--ca', 'ca.key', '--member', 'alice', '--role', 'operator',
    '--federation', FEDERATION_ID, '--key', 'alice.key', '--out', 'alice.cert'], project);
  await writeFile(join(project, 'solo.yaml'), CHECK_YAML);
  const check = await run(bin('novaedge'), ['--config', 'solo.yaml', '--check'], project);
  t.equal(check.code, 0, `novaedge --check passes\n${check.stdout}${check.stderr}`);
  t.match(check.stdout + check.stderr, /valid controller configuration for solo/, 'novaedge --check reports the config valid');

  // A controller started from the installed package writes and reads.
  const consumer = await run(process.execPath, ['consumer.ts'], project);
  t.equal(consumer.code, 0, `the consumer runs\n${consumer.stderr}`);
  const out = JSON.parse(consumer.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  t.equal(out.changed, true, 'the write changed the store');
  t.match(out.read, { kind: 'ProxyRoute', metadata: { name: 'api' }, spec: { hostnames: ['api.example.com'] } }, 'the read returns the write');
  t.equal(out.origin, 'solo', 'written by this controller');
  t.equal(out.remoteName, 'api', 'a remote operator reads it with createClient from the installed package');
  t.equal(out.subpaths, true, 'the admin, client, metrics, services and storage entry points load');
  t.equal(out.yamuxBatched, true, 'the yamux window-update adjustment is in effect in the installed copy');
});
