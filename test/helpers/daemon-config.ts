// YAML config files for `novaedge` in tests: three controllers on loopback with fast health checks,
// written the way an operator would (host:port endpoints plus peer IDs).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PkiFiles } from './pki-files.ts';

/** One controller of a test federation. */
export interface ControllerPlan {
  /** Member name (also its region). */
  name: string;
  /** libp2p TCP port on 127.0.0.1. */
  port: number;
  /** Metrics port on 127.0.0.1. */
  metricsPort: number;
  /** IPv4 address it listens on and is dialed at (default 127.0.0.1; a network namespace's in lab tests). */
  host?: string;
}

/**
 * The YAML of controller `self` among `all`: data under `dir`, admin socket under `socketDir` (a short
 * path: Unix socket paths are limited to 107 bytes, test fixture directories can be longer).
 */
export function controllerYaml(pki: PkiFiles, dir: string, socketDir: string, self: ControllerPlan, all: ControllerPlan[]): string {
  const me = pki.members.get(self.name)!;
  const others = all.filter((c) => c !== self).map((c) => [
    `    - name: ${c.name}`,
    `      region: ${c.name}`,
    `      endpoint: "${c.host ?? '127.0.0.1'}:${c.port}"`,
    `      peerId: ${pki.members.get(c.name)!.peerId}`,
  ].join('\n')).join('\n');
  return `apiVersion: novaedge.io/v1alpha1
kind: NovaEdgeFederation
metadata:
  name: test-federation
node:
  identityKeyFile: ${me.keyFile}
  certificateFile: ${me.certificateFile}
  controllerCaFiles: [${pki.controllerCaFile}]
  agentCaFiles: [${pki.agentCaFile}]
  listen: ["/ip4/${self.host ?? '127.0.0.1'}/tcp/${self.port}"]
  dataDir: ${join(dir, self.name)}
  adminSocket: ${join(socketDir, `${self.name}.sock`)}
  metricsAddress: "127.0.0.1:${self.metricsPort}"
spec:
  federationID: ${pki.fed.id}
  localMember:
    name: ${self.name}
    region: ${self.name}
    endpoint: "${self.host ?? '127.0.0.1'}:${self.port}"
  members:
${others}
  sync: { interval: "1s", timeout: "3s", batchSize: 100, compression: true }
  conflictResolution: { strategy: LastWriterWins, vectorClocks: true }
  healthCheck: { interval: "200ms", timeout: "100ms", failureThreshold: 3, successThreshold: 1 }
  splitBrain: { enabled: true, mode: Controllers, detectionDelay: "2s", fenceWrites: true }
  antiEntropy: { enabled: true, interval: "1s", batchSize: 100, repairMode: bidirectional }
`;
}

/** Write the config of each controller to `<dir>/<name>.yaml`; returns the paths by name. */
export async function writeControllerConfigs(pki: PkiFiles, dir: string, socketDir: string, plans: ControllerPlan[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of plans) {
    const path = join(dir, `${p.name}.yaml`);
    await writeFile(path, controllerYaml(pki, dir, socketDir, p, plans));
    out.set(p.name, path);
  }
  return out;
}

/**
 * The YAML of agent `name` following `primary` (then `secondary`), with fast failover settings; its
 * admin socket under `socketDir` (never the system default, which tests must not touch).
 */
export function agentYaml(pki: PkiFiles, dir: string, socketDir: string, name: string, metricsPort: number, primary: ControllerPlan, secondary: ControllerPlan[]): string {
  const me = pki.members.get(name)!;
  const entry = (c: ControllerPlan, priority: number): string => `{ endpoint: "127.0.0.1:${c.port}", peerId: ${pki.members.get(c.name)!.peerId}, priority: ${priority} }`;
  return `apiVersion: novaedge.io/v1alpha1
kind: NovaEdgeAgent
metadata:
  name: ${name}
node:
  identityKeyFile: ${me.keyFile}
  certificateFile: ${me.certificateFile}
  controllerCaFiles: [${pki.controllerCaFile}]
  agentCaFiles: [${pki.agentCaFile}]
  dataDir: ${join(dir, name)}
  adminSocket: ${join(socketDir, `${name}.sock`)}
  metricsAddress: "127.0.0.1:${metricsPort}"
spec:
  federationID: ${pki.fed.id}
  localMember: { name: ${name}, region: ${primary.name} }
  healthCheck: { interval: "200ms", timeout: "100ms" }
  agent:
    controllers:
      primary: ${entry(primary, 0)}
      secondary: [${secondary.map((c, i) => entry(c, 100 * (i + 1))).join(', ')}]
      failover: { timeout: "2s", healthCheckInterval: "200ms", failureThreshold: 3, recoveryDelay: "1s", latencyAware: true }
    autonomousMode: { enabled: true, configPath: ${join(dir, name, 'config.json')} }
    reachabilityProbe: { enabled: true, interval: "200ms", timeout: "150ms" }
`;
}
