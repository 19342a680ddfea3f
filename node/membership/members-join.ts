// A controller joining a running federation from a bootstrap list (live membership, ControllerConfig
// `join`): its configuration names no other controller, so it cannot build the first membership
// record itself (that would be a federation of one). It learns the record instead:
//   - a record saved by an earlier run is used as it is (the controller then catches up like any other);
//   - else it asks every controller it is connected to (it dials the bootstrap addresses, whose peer
//     IDs are pinned; the certificates are checked against the federation's CA and ID as always) for
//     their committed record, until one lists this controller under its name and peer ID: a member
//     added it (`novactl federation members add`). Until then the members refuse its certificate
//     (AUTH_MEMBER_UNKNOWN), and it logs the command that adds it.
import type { Logger } from 'pino';
import { sleep, type TimerComponents } from '../components.ts';
import { controllerNamed, membersProblem, type FederationMembers } from '../../membership/federation-members.ts';
import { decodeAcceptorState, type SlotStorage } from './members-acceptor.ts';
import type { MembersTransport } from './members-proposer.ts';

/** How often a joining controller asks again, ms. */
export const JOIN_RETRY_MS = 500;

/** How often it repeats the command that adds it in its log, ms. */
export const JOIN_LOG_INTERVAL_MS = 10_000;

/** What joining needs. */
export interface JoinOptions {
  self: string;
  selfPeerId: string;
  /** Addresses where the others dial this controller (for the command it logs). */
  listenAddrs: () => string[];
  /** Controllers connected now (names). */
  connected: () => string[];
  transport: MembersTransport;
  storage: SlotStorage;
  timers: TimerComponents;
  /** Joining stops (rejecting with its reason) when this aborts. */
  signal?: AbortSignal;
  logger?: Logger;
}

/** The command an operator runs on a member to add this controller. */
export function addCommand(self: string, peerId: string, addrs: readonly string[]): string {
  const endpoint = addrs.find((a) => !a.includes('/ip4/0.0.0.0/') && !a.includes('/ip6/::/')) ?? addrs[0] ?? '/ip4/<address>/tcp/<port>';
  return `novactl federation members add ${self} --peer-id ${peerId} --endpoint ${endpoint.replace(/\/p2p\/[^/]+$/, '')}`;
}

/** The membership record this joining controller starts from (see the file comment). */
export async function joinRecord(o: JoinOptions): Promise<FederationMembers> {
  const saved = await o.storage.load();
  if (saved !== undefined) return decodeAcceptorState(saved).committed;
  let loggedAtMs = -Infinity;
  for (;;) {
    o.signal?.throwIfAborted();
    for (const peer of o.connected()) {
      const reply = await o.transport.ask(peer, { t: 'fetch', epoch: 1 }).catch(() => undefined);
      if (reply?.t !== 'record' || membersProblem(reply.value) !== undefined) continue;
      const me = controllerNamed(reply.value, o.self);
      if (me !== undefined && me.peerId === o.selfPeerId) {
        o.logger?.info({ epoch: reply.value.epoch, from: peer, role: reply.value.voters.includes(o.self) ? 'voter' : 'learner' }, 'joined the federation: membership record received');
        return reply.value;
      }
    }
    const nowMs = o.timers.nowMs();
    if (nowMs - loggedAtMs >= JOIN_LOG_INTERVAL_MS) {
      loggedAtMs = nowMs;
      o.logger?.warn({ command: addCommand(o.self, o.selfPeerId, o.listenAddrs()) },
        'waiting to be added to the federation: run this on one of its controllers');
    }
    await sleep(o.timers, JOIN_RETRY_MS);
  }
}
