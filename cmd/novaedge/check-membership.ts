// `novaedge --check` on a controller whose data directory already holds a membership record: the
// YAML's spec.members is the federation's first membership, and the record the controllers committed
// together wins after that (docs/regions.md). The check says where the two differ, so an operator
// who removed a region sees it still listed here. It reads the record and changes nothing; a data
// directory in use (the controller running) is reported, not waited for.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import type { ControllerFileConfig } from '../../node/config/file-config.ts';
import { decodeAcceptorState } from '../../node/membership/members-acceptor.ts';
import { levelSlotStorage } from '../../node/membership/members-storage.ts';
import { openLevelDb } from '../../storage/store/disk-db.ts';

/** Notes on the saved membership record against `cfg` (empty when there is no record yet). */
export async function membershipNotes(cfg: ControllerFileConfig): Promise<string[]> {
  const path = join(cfg.node.dataDir, 'store');
  if (!existsSync(path)) return [];
  const db = openLevelDb(path);
  try {
    await db.open({ createIfMissing: false });
  } catch (err) {
    return [`the data directory ${cfg.node.dataDir} is in use or unreadable (${(err as Error).message.slice(0, 120)}): the membership record was not compared`];
  }
  let text: string | undefined;
  try {
    text = await levelSlotStorage(db).load();
  } finally {
    await db.close();
  }
  if (text === undefined) return [];
  const record = decodeAcceptorState(text).committed;
  const self = cfg.localMember.name;
  const notes = [`membership record: epoch ${record.epoch}, voters ${record.voters.join(', ')}${record.learners.length === 0 ? '' : `, learners ${record.learners.join(', ')}`} (the federation's record wins over spec.members)`];
  const removedSelf = record.denied.find((d) => d.role === 'controller' && d.name === self);
  if (removedSelf !== undefined) notes.push(`this controller (${self}) was removed from the federation at membership epoch ${removedSelf.sinceEpoch}: started, it refuses every connection`);
  cfg.members.forEach((m, i) => {
    const peerId = m.address === undefined ? undefined : multiaddr(m.address).getPeerId() ?? undefined;
    const removed = record.denied.find((d) => d.role === 'controller' && (d.name === m.name || d.peerId === peerId));
    if (removed !== undefined) {
      notes.push(`spec.members[${i}] (${m.name}): removed from the federation at membership epoch ${removed.sinceEpoch}, its peer ID refused everywhere; remove it from this file`);
    }
  });
  // A controller that joined from spec.bootstrap lists no members: the record is its membership.
  if (cfg.controller.join === true) {
    if (record.controllers.some((c) => c.name === self)) notes.push(`joined from spec.bootstrap: the record lists this controller as a ${record.voters.includes(self) ? 'voter' : 'learner'}; a start uses it`);
    return notes;
  }
  const listed = new Set([self, ...cfg.members.map((m) => m.name)]);
  for (const c of record.controllers) {
    if (!listed.has(c.name)) {
      // Added live: it works from the record; listing it is for the next federation built from these files.
      notes.push(`the federation's record lists controller ${c.name} (${c.peerId}${c.endpoints[0] === undefined ? '' : `, ${c.endpoints[0]}`}), added with members add, which spec.members does not; the record is what counts, list it here to keep the file in step`);
    }
  }
  return notes;
}
