// Two controller daemons for the hostile-input tests: a victim under attack and a peer it replicates
// to (quorum of two), both ready and replicating, plus what those tests read of them: the victim's
// resident memory, admin sockets, metrics URLs and whether a write reached the peer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { callAdmin } from '../../node/admin/admin-client.ts';
import { writeControllerConfigs, type ControllerPlan } from './daemon-config.ts';
import { spawnDaemon, type DaemonProcess } from './daemon-process.ts';
import { freePorts } from './free-ports.ts';
import { writePki, type PkiFiles } from './pki-files.ts';
import { tempDir, type Teardownable } from './temp-dir.ts';
import { waitFor } from './wait-for.ts';

/** Resident memory of a process, bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** A running victim/peer pair. */
export interface VictimPair {
  pki: PkiFiles;
  /** Ports of the victim (index 0) and the peer (index 1). */
  plans: ControllerPlan[];
  victim: DaemonProcess;
  peer: DaemonProcess;
  victimSock: string;
  /** The victim's libp2p address. */
  victimAddr: string;
  metricsUrl(index: 0 | 1): string;
  /** Write a ProxyRoute named `name` on the victim. */
  write(name: string): Promise<unknown>;
  /** Whether ProxyRoute/default/`name` reached the peer. */
  replicated(name: string): Promise<boolean>;
}

/** Start the pair in `dir` and wait until a write on the victim reaches the peer. */
export async function startVictimPair(t: Teardownable & { testdir(): string }, federationId: string): Promise<VictimPair> {
  const dir = t.testdir();
  const names = ['victim', 'peer'];
  const pki = await writePki(dir, federationId, names.map((name) => ({ name, role: 'controller' as const })));
  const ports = await freePorts(4);
  const plans: ControllerPlan[] = names.map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[2 + i]! }));
  const sockets = await tempDir(t, 'nvp-');
  const configs = await writeControllerConfigs(pki, dir, sockets, plans);
  const [victim, peer] = names.map((n) => spawnDaemon(t, ['--config', configs.get(n)!])) as [DaemonProcess, DaemonProcess];
  await Promise.all([victim.waitForLog('novaedge ready', 30_000), peer.waitForLog('novaedge ready', 30_000)]);
  const victimSock = join(sockets, 'victim.sock');
  const peerSock = join(sockets, 'peer.sock');
  const route = (name: string): object => ({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { hostnames: [`${name}.example.com`] } });
  const pair: VictimPair = {
    pki, plans, victim, peer, victimSock,
    victimAddr: `/ip4/127.0.0.1/tcp/${plans[0]!.port}/p2p/${pki.members.get('victim')!.peerId}`,
    metricsUrl: (i) => `http://127.0.0.1:${plans[i]!.metricsPort}/metrics`,
    write: (name) => callAdmin(victimSock, 'resources.apply', { resources: [route(name)] }),
    replicated: async (name) =>
      (await callAdmin<{ value?: unknown }>(peerSock, 'resources.get', { key: `ProxyRoute/default/${name}` }).catch(() => ({ value: undefined }))).value !== undefined,
  };
  // Ready: the victim takes writes (quorum with its peer) and replicates them.
  await waitFor('the victim replicates to its peer', async () => {
    await pair.write('before').catch(() => undefined);
    return pair.replicated('before');
  }, { timeoutMs: 30_000, intervalMs: 200 });
  return pair;
}
