// Membership benchmark (prints figures; not a test). Run: npm run bench:membership
//
// Five nodes (3 controllers, 2 agents), each in its own process, fast profile. Controllers dial the
// other controllers; agents dial the controllers (as an agent does: its bootstrap is its controllers)
// and publish health without subscribing to it, so an agent's peer table stays empty and only
// controllers see every member.
// 1. Cold start: the five started together; time until full membership: every controller sees the
//    four others Healthy, and every agent holds an authenticated connection to a controller.
// 2. Failure detection: SIGKILL one controller process (no goodbye, sockets torn down by the
//    kernel) and time until both surviving controllers mark it Unhealthy (interval 200 ms, timeout
//    100 ms, failureThreshold 3; target <= 1 s); beside it, when the agents connected to it see
//    their connection drop. Repeated, restarting the victim each time, so the kill lands at
//    different phases of the heartbeat cycle.
//   ROUNDS=5 (kill rounds). BENCH_SMOKE=1: 2 rounds (bench/smoke.ts).

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { caFromKey, encodeCaPublic } from '../node/identity/ca.ts';
import { certificateToJson, issueCertificate } from '../node/identity/certificate.ts';
import { generateEd25519Key, privateKeyToProtobuf } from '../node/identity/keys.ts';
import { freePorts } from '../test/helpers/free-ports.ts';
import type { ChildMsg as Msg, ChildSpec } from './membership-child.ts';
import { envNumber, sized } from './smoke.ts';

const KILL_ROUNDS = envNumber('ROUNDS', 5, 2);
const TIMEOUT_MS = 20_000;
const CHILD = fileURLToPath(new URL('./membership-child.ts', import.meta.url));

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
const controllerNames = names.filter((n) => n.startsWith('c'));
const agentNames = names.filter((n) => !controllerNames.includes(n));
for (const m of members) {
  specs.push({
    federationId: fid, name: m.name, role: m.role, privateKey: Buffer.from(privateKeyToProtobuf(m.key)).toString('base64'),
    certificate: certificateToJson(m.cert), controllerCa: encodeCaPublic(controllerCa.public), agentCa: encodeCaPublic(agentCa.public),
    listen: m.listen, bootstrap: members.filter((x) => x.role === 'controller' && x !== m).map((x) => x.addr), expect: names,
  });
}

const children = new Map<string, ChildProcess>();
const listeners = new Set<(m: Msg) => void>();
// Which agent holds an authenticated connection to which controller ("a1>c3"), from 'link' reports.
const links = new Set<string>();
listeners.add((m) => {
  if (m.type !== 'link') return;
  if (m.link!.up) links.add(`${m.name}>${m.link!.member}`);
  else links.delete(`${m.name}>${m.link!.member}`);
});
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
const per = (msgs: Msg[], fromMs: number): string => msgs.map((m) => `${m.name} ${ms(m.atMs - fromMs)}`).join(', ');
const latest = (msgs: Msg[]): number => Math.max(...msgs.map((m) => m.atMs));

try {
  console.log(`membership bench: 5 nodes (3 controllers, 2 agents publishing health only), one process each, fast profile (interval 200 ms, timeout 100 ms, failureThreshold 3, successThreshold 1)`);
  // 1. Cold start: processes load their modules, then all start their node at the same moment.
  // Each phase has its own deadline (a loaded machine may take long to load the modules).
  const loaded = collect('all loaded', names.length, (m) => m.type === 'loaded');
  const spawnAt = Date.now();
  for (const s of specs) spawn(s, false);
  const loadedMsgs = await loaded;
  await new Promise((r) => setTimeout(r, sized(500, 100))); // let module loading settle in every process
  const started = collect('all started', names.length, (m) => m.type === 'started');
  const full = collect('full membership (every controller sees every member Healthy; every agent connected to a controller)', names.length, (m) => m.type === 'full');
  const goAt = Date.now();
  for (const c of children.values()) c.send({ type: 'go' });
  const startedMsgs = await started;
  const fullMsgs = await full;
  const controllersFull = fullMsgs.filter((m) => controllerNames.includes(m.name));
  const agentsIn = fullMsgs.filter((m) => agentNames.includes(m.name));
  if (process.env.VERBOSE) {
    console.log(JSON.stringify({ loaded: loadedMsgs.map((m) => [m.name, m.atMs - spawnAt]), started: startedMsgs.map((m) => [m.name, m.atMs - goAt]), full: fullMsgs.map((m) => [m.name, m.atMs - goAt]) }));
  }
  console.log(`cold start: processes up and modules loaded in ${ms(latest(loadedMsgs) - spawnAt)}; nodes started together; every node listening after ${ms(latest(startedMsgs) - goAt)}`);
  console.log(`  every controller sees the ${names.length - 1} others Healthy after ${ms(latest(controllersFull) - goAt)} (${per(controllersFull, goAt)})`);
  console.log(`  every agent connected to a controller after ${ms(latest(agentsIn) - goAt)} (${per(agentsIn, goAt)}; members in their peer tables: ${agentsIn.map((m) => `${m.name} ${m.known}`).join(', ')}, as they do not subscribe to health)`);
  console.log(`full membership after ${ms(latest(fullMsgs) - goAt)}`);

  // 2. SIGKILL detection, repeated.
  const detections: number[] = [];
  const victim = specs[2]!;
  const survivors = controllerNames.filter((n) => n !== victim.name);
  for (let round = 0; round < KILL_ROUNDS; round++) {
    // Random phase relative to the victim's heartbeat grid.
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
    const unhealthy = collect('Unhealthy on every surviving controller', survivors.length, (m) => m.type === 'event' && m.event?.type === 'state-changed' && m.event.member === victim.name && m.event.to === 'Unhealthy');
    // Agents dial again with their long backoff: only those connected to the victim right now.
    const linked = agentNames.filter((a) => links.has(`${a}>${victim.name}`));
    const dropped = collect('agents seeing their connection to the victim drop', linked.length, (m) => m.type === 'link' && m.link?.member === victim.name && !m.link.up && linked.includes(m.name));
    const killedAt = Date.now();
    children.get(victim.name)!.kill('SIGKILL');
    const msgs = await unhealthy;
    detections.push(latest(msgs) - killedAt);
    console.log(`SIGKILL round ${round + 1}: Unhealthy on both surviving controllers after ${ms(latest(msgs) - killedAt)} (${per(msgs, killedAt)})`);
    if (linked.length > 0) {
      const drops = await dropped;
      console.log(`  agents connected to it saw the connection drop after ${ms(latest(drops) - killedAt)} (${per(drops, killedAt)})`);
    }
    if (round < KILL_ROUNDS - 1) {
      const healthy = collect('Healthy again', survivors.length, (m) => m.type === 'event' && m.event?.type === 'state-changed' && m.event.member === victim.name && m.event.to === 'Healthy');
      const restartAt = Date.now();
      spawn(victim, true);
      const back = await healthy;
      console.log(`  restarted (same key, same port, new process): Healthy on both surviving controllers ${ms(latest(back) - restartAt)} after spawning it (incl. Node start-up)`);
    }
  }
  console.log(`SIGKILL -> Unhealthy on every surviving controller over ${KILL_ROUNDS} rounds: ${stats(detections)} (target <= 1000 ms; bound by design: failureThreshold x interval + timeout = 700 ms after the last heartbeat received)`);
} finally {
  for (const c of children.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
}
