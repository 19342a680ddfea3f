// The YAML of a controller that joins a running federation (live membership): the same file as
// daemon-config.ts's controllerYaml, with spec.bootstrap (addresses ending in /p2p/<peerId>) in
// place of spec.members. Started, it waits until a member runs `novactl federation members add`.
import { controllerYaml, type ControllerPlan } from './daemon-config.ts';
import type { PkiFiles } from './pki-files.ts';

/** The YAML of joiner `self` (its key and certificate in `pki.members`), learning the members from `bootstrap`. */
export function joinerYaml(pki: PkiFiles, dir: string, socketDir: string, self: ControllerPlan, bootstrap: readonly string[]): string {
  const alone = controllerYaml(pki, dir, socketDir, self, [self]);
  const yaml = alone.replace(/^ {2}members:\n(?: {4}.*\n|\n)*/m, `  bootstrap:\n${bootstrap.map((a) => `    - "${a}"\n`).join('')}`);
  if (yaml === alone || /^ {2}members:/m.test(yaml)) throw new Error('joinerYaml: controllerYaml has no spec.members block to replace');
  return yaml;
}

/** The bootstrap address of a controller: where it listens, with its peer ID. */
export function bootstrapAddress(pki: PkiFiles, plan: ControllerPlan): string {
  return `/ip4/${plan.host ?? '127.0.0.1'}/tcp/${plan.port}/p2p/${pki.members.get(plan.name)!.peerId}`;
}
