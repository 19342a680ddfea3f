// Gossip gone silent over a live link, as a pure rule.
//
// Health heartbeats travel by gossip, which peers two nodes over ONE of their connections and does
// not move to another when that one closes (js-libp2p-gossipsub drops the peer when the stream it
// reads breaks); only a new connection peers them again. So when two controllers have two
// connections (both dialed at once after a heal) and the one gossip used closes, they stay
// authenticated and their link answers pings over the other, while no heartbeat flows: each shows the
// other Unhealthy and FederationMemberUnhealthy fires for a member that is fine. (Found by the
// simulation, seeds 100222 and 100245 of the sweep at 90f2d33.)
//
// The repair: a controller whose direct link proves alive (link-liveness.ts) but whose heartbeats
// have been missing for GOSSIP_SILENCE_WINDOWS contact windows, while its newest connection has been
// up at least that long (a fresh connection may still be peering), has its connections closed and is
// dialed again, at most once per GOSSIP_REPAIR_BACKOFF_WINDOWS windows (so a peer whose heartbeats are
// lost for another reason is not redialed in a loop). Relayed heartbeats count as heard: a peer heard
// through a third member is shown Healthy, which is true.

/** Contact windows of heartbeat silence over a live link before the link is re-made. */
export const GOSSIP_SILENCE_WINDOWS = 2;
/** Least contact windows between two repairs of one peer. */
export const GOSSIP_REPAIR_BACKOFF_WINDOWS = 6;

/** What the rule looks at, for one peer, all on one monotonic clock (ms). */
export interface GossipSilenceInput {
  nowMs: number;
  /** The contact window. */
  windowMs: number;
  /** When its direct link last proved alive (a ping answered), if it did. */
  provenAtMs: number | undefined;
  /** When its last heartbeat was accepted (direct or relayed), if ever. */
  heardAtMs: number | undefined;
  /** When its newest open connection began to be watched. */
  newestConnectionMs: number;
  /** When its connections were last closed by this rule, if ever. */
  lastRepairMs: number | undefined;
}

/** True when the peer's link is alive but its gossip has been silent long enough to re-make the link. */
export function gossipSilent(i: GossipSilenceInput): boolean {
  const silenceMs = GOSSIP_SILENCE_WINDOWS * i.windowMs;
  if (i.provenAtMs === undefined || i.nowMs - i.provenAtMs >= i.windowMs) return false; // not live: liveness decides
  if (i.nowMs - i.newestConnectionMs < silenceMs) return false; // a new connection may still be peering
  if (i.lastRepairMs !== undefined && i.nowMs - i.lastRepairMs < GOSSIP_REPAIR_BACKOFF_WINDOWS * i.windowMs) return false;
  return i.heardAtMs === undefined || i.nowMs - i.heardAtMs >= silenceMs;
}
