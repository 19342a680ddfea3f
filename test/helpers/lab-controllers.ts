// Controller daemons (`novaedge`, test/helpers/daemon-config.ts's fast YAML) each in its own network
// namespace of a NetLab, driven through their admin sockets: status, writes. For tests and benches
// that cut links with silent drops.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminCallError, callAdmin } from '../../node/admin/admin-client.ts';
import type { QuorumStatus } from '../../quorum/index.ts';
import { writeControllerConfigs, type ControllerPlan } from './daemon-config.ts';
import { spawnDaemon, type DaemonProcess } from './daemon-process.ts';
import { NetLab } from './netns-lab.ts';
import { writePki } from './pki-files.ts';
import type { Teardownable } from './temp-dir.ts';
import { waitFor } from './wait-for.ts';

/** The port every daemon listens on, each at its own namespace's address. */
const LAB_PORT = 9000;

/** What `federation.status` (verbose) returns, the parts used here. */
export interface LabStatus {
  quorum: QuorumStatus;
  fence?: { fenced: number; minorityWrites: number };
}

/** Three (or more) controller daemons in a lab. */
export interface LabControllers {
  lab: NetLab;
  names: string[];
  daemons: Map<string, DaemonProcess>;
  /** Admin socket of each. */
  sockets: Map<string, string>;
  /** `federation.status --verbose` of one. */
  status(name: string): Promise<LabStatus>;
  /** One write (durability local); resolves to 'ok' or the error code (FENCED, ...). */
  write(name: string, resourceName: string): Promise<string>;
}

/**
 * Start controller daemons `names` in a new lab; everything is removed at teardown. Resolves once
 * every controller reaches all others and accepts writes.
 */
export async function startLabControllers(t: Teardownable, names: string[], fedId = 'lab-fed'): Promise<LabControllers> {
  const dir = mkdtempSync(join(tmpdir(), 'nvlab-'));
  const lab = NetLab.create(names);
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const pki = await writePki(dir, fedId, names.map((name) => ({ name, role: 'controller' as const })));
  const plans: ControllerPlan[] = names.map((name) => ({ name, port: LAB_PORT, metricsPort: 9464, host: lab.host(name).ip }));
  const configs = await writeControllerConfigs(pki, dir, dir, plans);
  const daemons = new Map<string, DaemonProcess>();
  const sockets = new Map<string, string>();
  for (const name of names) {
    daemons.set(name, spawnDaemon(t, ['--config', configs.get(name)!], { netns: lab.host(name).ns }));
    sockets.set(name, join(dir, `${name}.sock`));
  }
  await Promise.all([...daemons.values()].map((d) => d.waitForLog('novaedge ready', 60_000)));
  const status = (name: string): Promise<LabStatus> => callAdmin<LabStatus>(sockets.get(name)!, 'federation.status', { verbose: true }, { timeoutMs: 10_000 });
  const full = `${names.length - 1}/${names.length - 1}`;
  await waitFor('every controller reaches the others', async () => {
    for (const n of names) {
      const s = await status(n);
      if (s.quorum.reachablePeers !== full || s.quorum.writesFenced) return false;
    }
    return true;
  }, { timeoutMs: 30_000, intervalMs: 100 });
  let seq = 0;
  const write = async (name: string, resourceName: string): Promise<string> => {
    const resource = {
      apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: resourceName, namespace: 'default' },
      spec: { hostnames: [`${resourceName}.example.com`], seq: seq++ },
    };
    try {
      await callAdmin(sockets.get(name)!, 'resources.apply', { resources: [resource] }, { timeoutMs: 10_000 });
      return 'ok';
    } catch (err) {
      if (err instanceof AdminCallError) return err.code;
      throw err;
    }
  };
  return { lab, names, daemons, sockets, status, write };
}
