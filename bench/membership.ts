// Membership benchmark (prints figures; not a test). Run: npx node bench/membership.ts
//
// 1. Cold start: five nodes (3 controllers, 2 agents), each in its own process, started together
//    from one multiaddr list; time until every node sees the four others Healthy.
// 2. Failure detection: SIGKILL one controller process (no goodbye, sockets torn down by the
//    kernel) and time until every survivor marks it Unhealthy. Fast profile: interval 200 ms,
//    timeout 100 ms, failureThreshold 3. Target: <= 1 s. Repeated, restarting the victim each time,
//    so the kill lands at different phases of the heartbeat cycle.

import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { caFromKey, encodeCaPublic } from '../node/identity/ca.ts';
import { certificateToJson, issueCertificate } from '../node/identity/certificate.ts';
import { generateEd25519Key, privateKeyToProtobuf } from '../node/identity/keys.ts';
import type { ChildSpec } from './membership-child.ts';

const KILL_ROUNDS = Number(process.env.ROUNDS ?? 5);
const TIMEOUT_MS = 20_000;
const CHILD = fileURLToPath(new URL('./membership-child.ts', import.meta.url));

interface Msg { type: 'loaded' | 'started' | 'event' | 'full'; name: string; atMs: number; event?: { type: string; member: string; to?: string } }

async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    ports.push((s.address() as { port: number }).port);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const fid = 'bench-fed';
const controllerCa = caFromKey(await generateEd25519Key(), 'controllers-ca');
const agentCa = caFromKey(await generateEd25519Key(), 'agents-ca');
const names = ['c1', 'c2', 'c3', 'a1', 'a2'];
const ports = await freePorts(names.length);
const specs: ChildSpec[] = [];
const members = await Promise.all(names.map(async (name, i) => {
  const key = await generateEd25519Key();
  const role = name.startsWith('c') ? 'controller' as const : 'agent' as const;
  const peerId = peerIdFromPrivateKey(key);
  const cert = await issueCertificate(role === 'controller' ? controllerCa : agentCa, {
    federationId: fid, member: name, role, peerId, notBeforeMs: Date.now() - 60_000, notAfterMs: Date.now() + 3_600_000,
  });
  const listen = `/ip4/127.0.0.1/tcp/${ports[i]}`;
  return { name, role, key, cert, listen, addr: `${listen}/p2p/${peerId.toString()}` };
}));
for (const m of members) {
  specs.push({
    federationId: fid, name: m.name, role: m.role, privateKey: Buffer.from(privateKeyToProtobuf(m.key)).toString('base64'),
    certificate: certificateToJson(m.cert), controllerCa: encodeCaPublic(controllerCa.public), agentCa: encodeCaPublic(agentCa.public),
    listen: m.listen, bootstrap: members.map((x) => x.addr), expect: names,
  });
}

const children = new Map<string, ChildProcess>();
const listeners = new Set<(m: Msg) => void>();
function spawn(spec: ChildSpec, startAtOnce: boolean): ChildProcess {
  const child = fork(CHILD, [], { env: { ...process.env, NOVAEDGE_BENCH_NODE: JSON.stringify(spec) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('message', (m) => {
    if (startAtOnce && (m as Msg).type === 'loaded') child.send({ type: 'go' });
    for (const l of listeners) l(m as Msg);
  });
  children.set(spec.name, child);
  return child;
}
function until<T>(what: string, pred: (m: Msg) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { listeners.delete(l); reject(new Error(`timed out waiting for ${what}`)); }, TIMEOUT_MS);
    const l = (m: Msg): void => {
      const v = pred(m);
      if (v !== undefined) { clearTimeout(timer); listeners.delete(l); resolve(v); }
    };
    listeners.add(l);
  });
}
function collect(what: string, count: number, pred: (m: Msg) => boolean): Promise<Msg[]> {
  const got: Msg[] = [];
  return until(what, (m) => {
    if (pred(m) && !got.some((g) => g.name === m.name)) got.push(m);
    return got.length === count ? got : undefined;
  });
}
const ms = (x: number): string => `${Math.round(x)} ms`;
const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${ms(s[0]!)}, median ${ms(s[Math.floor(s.length / 2)]!)}, max ${ms(s[s.length - 1]!)}`;
};

try {
  console.log(`membership bench: 5 nodes (3 controllers, 2 agents), one process each, fast profile (interval 200 ms, timeout 100 ms, failureThreshold 3, successThreshold 1)`);
  // 1. Cold start: processes load their modules, then all start their node at the same moment.
  const loaded = collect('all loaded', 5, (m) => m.type === 'loaded');
  const started = collect('all started', 5, (m) => m.type === 'started');
  const full = collect('full membership', 5, (m) => m.type === 'full');
  const spawnAt = Date.now();
  for (const s of specs) spawn(s, false);
  const loadedMsgs = await loaded;
  await new Promise((r) => setTimeout(r, 500)); // let module loading settle in every process
  const goAt = Date.now();
  for (const c of children.values()) c.send({ type: 'go' });
  const startedMsgs = await started;
  const fullMsgs = await full;
  const fullAt = Math.max(...fullMsgs.map((m) => m.atMs));
  if (process.env.VERBOSE) {
    console.log(JSON.stringify({ loaded: loadedMsgs.map((m) => [m.name, m.atMs - spawnAt]), started: startedMsgs.map((m) => [m.name, m.atMs - goAt]), full: fullMsgs.map((m) => [m.name, m.atMs - goAt]) }));
  }
  console.log(`cold start: processes up and modules loaded in ${ms(Math.max(...loadedMsgs.map((m) => m.atMs)) - spawnAt)}; nodes started together; every node listening after ${ms(Math.max(...startedMsgs.map((m) => m.atMs)) - goAt)}; every node sees the 4 others Healthy after ${ms(fullAt - goAt)} (per node: ${fullMsgs.map((m) => `${m.name} ${ms(m.atMs - goAt)}`).join(', ')})`);

  // 2. SIGKILL detection, repeated.
  const detections: number[] = [];
  const victim = specs[2]!;
  for (let round = 0; round < KILL_ROUNDS; round++) {
    // Random phase relative to the victim's heartbeat grid.
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
    const survivors = names.filter((n) => n !== victim.name);
    const unhealthy = collect('Unhealthy everywhere', survivors.length, (m) => m.type === 'event' && m.event?.type === 'state-changed' && m.event.member === victim.name && m.event.to === 'Unhealthy');
    const killedAt = Date.now();
    children.get(victim.name)!.kill('SIGKILL');
    const msgs = await unhealthy;
    const per = msgs.map((m) => m.atMs - killedAt);
    detections.push(Math.max(...per));
    console.log(`SIGKILL round ${round + 1}: Unhealthy on all 4 survivors after ${ms(Math.max(...per))} (per survivor: ${msgs.map((m) => `${m.name} ${ms(m.atMs - killedAt)}`).join(', ')})`);
    if (round < KILL_ROUNDS - 1) {
      const healthy = collect('Healthy again', survivors.length, (m) => m.type === 'event' && m.event?.type === 'state-changed' && m.event.member === victim.name && m.event.to === 'Healthy');
      const restartAt = Date.now();
      spawn(victim, true);
      const back = await healthy;
      console.log(`  restarted (same key, same port, new process): Healthy on all survivors ${ms(Math.max(...back.map((m) => m.atMs)) - restartAt)} after spawning it (incl. Node start-up)`);
    }
  }
  console.log(`SIGKILL -> Unhealthy everywhere over ${KILL_ROUNDS} rounds: ${stats(detections)} (target <= 1000 ms; bound by design: failureThreshold x interval + timeout = 700 ms after the last heartbeat received)`);
} finally {
  for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
