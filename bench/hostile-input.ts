// Hostile-input benchmark (prints figures; not a test): what hostile peers cost a controller daemon
// (`novaedge`, fast test YAML) federated with two others, on loopback. Each part starts a fresh
// federation, attacks its first controller (the victim) from this process, and prints the victim's
// longest event-loop stall (nodejs_eventloop_lag_max_seconds from its metrics), its resident memory
// growth (/proc), what its peers saw of it (member_healthy samples) and how writes to it fared;
// then the same figures for a quiet period as long, so a loaded machine's own stalls can be told
// from the attack's.
//   npm run bench:hostile                   every part
//   BENCH_PARTS=bomb npm run bench:hostile  named parts, comma-separated
// Parts:
//   bomb  issue 17 item 1: a peer holding a legitimately issued agent certificate sends deflate
//         bombs (62 MiB of JSON in 61 KiB) on the protocols an agent may open (anti-entropy,
//         config-stream), BENCH_BOMBS of them (default 36, as in the issue), each sent as soon as the
//         previous one was refused, BENCH_BOMB_STREAMS at a time (default 1).
//   preauth  issue 17 item 4: BENCH_PREAUTH_IDENTITIES peers holding no certificate (default 24, as
//         in the issue) connect, open 8 streams on each of push, anti-entropy and config-stream, write
//         256 KiB into each before authenticating, and reconnect whenever they are closed, for
//         BENCH_PREAUTH_SECONDS (default 20).
// On a loaded machine the longest stall includes time the victim waited for a CPU: compare with the
// quiet period, and read the victim's CPU per frame, which the load does not inflate.
// BENCH_SMOKE=1: both parts, 2 bombs, 2 identities for 1 s, on one federation (bench/smoke.ts).
// A part is a function of the federation (startFederation) returning its lines: add one to PARTS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { callAdmin } from '../node/admin/admin-client.ts';
import { replicationProtocol } from '../node/replication/protocol-ids.ts';
import { makeMember } from '../test/helpers/cert-fixtures.ts';
import { writeControllerConfigs, type ControllerPlan } from '../test/helpers/daemon-config.ts';
import { spawnDaemon, type DaemonProcess } from '../test/helpers/daemon-process.ts';
import { freePorts } from '../test/helpers/free-ports.ts';
import { deflateBomb, sendFrames } from '../test/helpers/hostile-frames.ts';
import { preAuthFlood } from '../test/helpers/preauth-flood.ts';
import { writePki, type PkiFiles } from '../test/helpers/pki-files.ts';
import { scrape, valueOf } from '../test/helpers/prom-text.ts';
import { startRogue } from '../test/helpers/rogue-node.ts';
import { machineCpu, percentile } from './bench-cluster.ts';
import { envNumber, smoke } from './smoke.ts';

const MiB = 1024 * 1024;
const CONTROLLERS = ['victim', 'peer-1', 'peer-2'];

/** A running federation of controller daemons; CONTROLLERS[0] is the victim. */
interface Federation {
  pki: PkiFiles;
  plans: ControllerPlan[];
  daemons: DaemonProcess[];
  /** Admin socket of each controller. */
  sockets: string[];
  /** Register clean-up (run in reverse order when the part ends). */
  teardown(fn: () => unknown): void;
  /** Stop the daemons and run the clean-ups. */
  stop(): Promise<void>;
}

/**
 * What a part measures while `attack` runs: the victim's stall and memory, its peers' view, writes to
 * it; then the same over a quiet period as long as the attack took.
 */
async function observe(f: Federation, attack: () => Promise<{ what: string; frames: number }>): Promise<string[]> {
  let attackMs = 0;
  let frames = 0;
  const attacked = await measure(f, async () => {
    const t0 = performance.now();
    const a = await attack();
    attackMs = performance.now() - t0;
    frames = a.frames;
    return a.what;
  });
  const quiet = await measure(f, async () => {
    await new Promise((r) => setTimeout(r, attackMs));
    return 'quiet (no attack), for comparison,';
  });
  // The victim's CPU beyond its quiet level: what the frames cost it, whatever the machine's load.
  const perFrameMs = (attacked.cpuMs - quiet.cpuMs) / Math.max(1, frames);
  return [...attacked.lines, `  victim CPU per frame, beyond its quiet level: ${perFrameMs.toFixed(1)} ms`, ...quiet.lines];
}

async function measure(f: Federation, attack: () => Promise<string>): Promise<{ lines: string[]; cpuMs: number }> {
  const pid = f.daemons[0]!.child.pid!;
  const metrics = (i: number): string => `http://127.0.0.1:${f.plans[i]!.metricsPort}/metrics`;
  const rss = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  // utime + stime of the victim, in clock ticks (100 a second on Linux).
  const cpuTicks = (): number => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).reduce((n, x) => n + Number(x), 0);
  const rssBefore = rss();
  let rssPeak = rssBefore;
  let views = 0;
  let unhealthy = 0;
  const writeMs: number[] = [];
  let writeFailures = 0;
  let stop = false;
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, rss()); }, 20);
  // The peers' view of the victim, every 100 ms (their scrapes do not touch the victim's histogram).
  const watching = (async () => {
    while (!stop) {
      for (const i of [1, 2]) {
        const p = await scrape(metrics(i)).catch(() => undefined);
        views++;
        if (p === undefined || valueOf(p, 'novaedge_federation_member_healthy', { member: 'victim' }) !== 1) unhealthy++;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  // A quorum write to the victim every 200 ms, as a client would make.
  const writing = (async () => {
    for (let i = 0; !stop; i++) {
      const t0 = performance.now();
      try {
        await callAdmin(f.sockets[0]!, 'resources.apply', { durability: 'quorum', resources: [route(`w${i}`)] });
        writeMs.push(performance.now() - t0);
      } catch {
        writeFailures++;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const cpu = machineCpu();
  await scrape(metrics(0)); // resets the victim's event-loop delay histogram
  const ticks0 = cpuTicks();
  const t0 = performance.now();
  const what = await attack();
  const seconds = (performance.now() - t0) / 1000;
  const after = await scrape(metrics(0));
  const victimCpuMs = (cpuTicks() - ticks0) * 10;
  stop = true;
  clearInterval(sampler);
  await Promise.all([watching, writing]);
  rssPeak = Math.max(rssPeak, rss());
  writeMs.sort((a, b) => a - b);
  const lagMaxMs = (valueOf(after, 'nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000;
  const lagP99Ms = (valueOf(after, 'nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000;
  const refused = after.samples.filter((s) => s.name === 'novaedge_federation_frames_refused_total')
    .map((s) => `${s.labels.protocol} ${s.labels.code} ${s.value}`).join(', ');
  return { cpuMs: victimCpuMs, lines: [
    `  ${what} in ${seconds.toFixed(1)} s`,
    `  victim: longest event-loop stall ${lagMaxMs.toFixed(0)} ms (p99 ${lagP99Ms.toFixed(0)} ms), CPU ${victimCpuMs} ms; RSS ${(rssBefore / MiB).toFixed(0)} MiB -> peak ${(rssPeak / MiB).toFixed(0)} MiB (+${((rssPeak - rssBefore) / MiB).toFixed(1)} MiB)`,
    `  victim counted so far: ${refused === '' ? 'no refused frames' : `frames refused ${refused}`}`,
    `  peers saw the victim other than Healthy in ${unhealthy} of ${views} samples`,
    `  quorum writes to the victim: ${writeMs.length} ok${writeMs.length === 0 ? '' : ` (p50 ${percentile(writeMs, 50).toFixed(0)} ms, max ${writeMs.at(-1)!.toFixed(0)} ms)`}, ${writeFailures} failed`,
    `  ${cpu() ?? ''}`,
  ] };
}

function route(name: string): object {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { hostnames: [`${name}.example.com`] } };
}

/** Deflate bombs from a peer holding an agent certificate (issue 17 item 1). */
async function bombPart(f: Federation): Promise<string[]> {
  const count = envNumber('BENCH_BOMBS', 36, 2);
  const streams = envNumber('BENCH_BOMB_STREAMS', 1, 1);
  const rogue = await startRogue(f, f.pki.fed, { member: await makeMember(f.pki.fed, 'rogue-agent', 'agent') });
  const victimId = f.pki.members.get('victim')!.peerId;
  const conn = await rogue.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${f.plans[0]!.port}/p2p/${victimId}`));
  await until('the rogue agent is authenticated', () => rogue.auth!.isAuthenticated(victimId), 10_000);
  const bombs: Array<['anti-entropy' | 'config-stream', Uint8Array]> = [
    ['anti-entropy', await deflateBomb('get', 62 * MiB)],
    ['config-stream', await deflateBomb('subscribe', 62 * MiB)],
  ];
  return observe(f, async () => {
    let next = 0;
    let timeouts = 0;
    await Promise.all(Array.from({ length: streams }, async () => {
      for (let i = next++; i < count; i = next++) {
        const [protocol, frame] = bombs[i % bombs.length]!;
        if (await sendFrames(rogue.libp2p, conn.remotePeer, replicationProtocol(f.pki.fed.id, protocol), [frame], 30_000) === 'timeout') timeouts++;
      }
    }));
    return {
      frames: count,
      what: `${count} bombs of ${(bombs[0]![1].length / 1024).toFixed(0)} KiB (62 MiB inflated), ${streams} stream(s) at a time, ` +
        `alternating anti-entropy and config-stream${timeouts > 0 ? `; ${timeouts} streams still open after 30 s` : ''}`,
    };
  });
}

/** Peers with no certificate flooding the federation's protocols before auth (issue 17 item 4). */
async function preauthPart(f: Federation): Promise<string[]> {
  const identities = envNumber('BENCH_PREAUTH_IDENTITIES', 24, 2);
  const seconds = envNumber('BENCH_PREAUTH_SECONDS', 20, 1);
  const fid = f.pki.fed.id;
  const protocols = (['push', 'anti-entropy', 'config-stream'] as const).map((p) => replicationProtocol(fid, p));
  return observe(f, async () => {
    const r = await preAuthFlood({
      target: `/ip4/127.0.0.1/tcp/${f.plans[0]!.port}/p2p/${f.pki.members.get('victim')!.peerId}`,
      federationId: fid, protocols, identities, streamsPerProtocol: 8, bytesPerStream: 256 * 1024, durationMs: seconds * 1000,
    });
    return {
      frames: r.streamsOpened,
      what: `${identities} identities without certificates, ${r.connections} connections (${r.dialErrors} dials refused), ` +
        `${r.streamsOpened} streams opened on push/anti-entropy/config-stream, ${(r.bytesWritten / MiB).toFixed(0)} MiB handed to their muxers before auth (a "frame" below is one such stream)`,
    };
  });
}

const PARTS: Record<string, (f: Federation) => Promise<string[]>> = { bomb: bombPart, preauth: preauthPart };

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Three controller daemons, connected, the victim taking quorum writes. */
async function startFederation(): Promise<Federation> {
  const cleanups: Array<() => unknown> = [];
  const teardown = (fn: () => unknown): void => { cleanups.push(fn); };
  const dir = mkdtempSync(join(tmpdir(), 'novaedge-bench-hostile-'));
  // Short: Unix socket paths are limited to 107 bytes.
  const socketDir = mkdtempSync(join(tmpdir(), 'nvh-'));
  teardown(() => { rmSync(dir, { recursive: true, force: true }); rmSync(socketDir, { recursive: true, force: true }); });
  const pki = await writePki(dir, 'hostile-bench', CONTROLLERS.map((name) => ({ name, role: 'controller' as const })));
  const ports = await freePorts(2 * CONTROLLERS.length);
  const plans: ControllerPlan[] = CONTROLLERS.map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[CONTROLLERS.length + i]! }));
  const configs = await writeControllerConfigs(pki, dir, socketDir, plans);
  const daemons = CONTROLLERS.map((n) => spawnDaemon({ teardown }, ['--config', configs.get(n)!]));
  const f: Federation = {
    pki, plans, daemons, sockets: CONTROLLERS.map((n) => join(socketDir, `${n}.sock`)),
    teardown,
    async stop() {
      await Promise.all(daemons.map((d) => d.stop('SIGTERM')));
      for (const fn of cleanups.reverse()) await fn();
    },
  };
  await Promise.all(daemons.map((d) => d.waitForLog('novaedge ready', 60_000)));
  await until('the victim takes quorum writes', async () =>
    callAdmin(f.sockets[0]!, 'resources.apply', { durability: 'quorum', resources: [route('ready')] }).then(() => true, () => false), 60_000);
  return f;
}

const wanted = (process.env.BENCH_PARTS ?? Object.keys(PARTS).join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
const unknown = wanted.filter((p) => !(p in PARTS));
if (unknown.length > 0) {
  console.error(`unknown BENCH_PARTS ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}
// Each part gets a fresh federation, so that one part's after-effects stay out of the next one's
// figures. A smoke run's figures mean nothing, and a federation takes seconds to start: it shares one.
const shared = smoke ? await startFederation() : undefined;
try {
  for (const name of wanted) {
    const f = shared ?? await startFederation();
    try {
      console.log(`${name}:`);
      for (const line of await PARTS[name]!(f)) console.log(line);
    } finally {
      if (f !== shared) await f.stop();
    }
  }
} finally {
  await shared?.stop();
}
