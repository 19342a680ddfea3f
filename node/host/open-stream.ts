// Opening a protocol stream to a connected peer, in the shape the wire code uses: the duplex, and a
// close that never throws (a stream that cannot close gracefully is aborted instead).
import { peerIdFromString } from '@libp2p/peer-id';
import type { Duplex } from 'it-stream-types';
import { withDeadline } from '../wire/deadline.ts';
import type { HostNet } from './host-net.ts';
import type { TimerComponents } from './timer-components.ts';

/** A stream to a peer: a duplex of bytes, and how to close it when done (gracefully, within STREAM_CLOSE_TIMEOUT_MS). */
export interface PeerStream {
  duplex: Duplex<any, any, any>;
  close(): Promise<void>;
}

/**
 * How long a graceful close waits for the other side to close its end before the stream is aborted.
 * Without a bound, a close waits as long as the peer keeps its end open, and callers that count an
 * exchange as in flight until it is closed (the vote collector skips such an agent) wait with it.
 */
export const STREAM_CLOSE_TIMEOUT_MS = 1_000;

/** How to pick among several open connections to the peer. */
export interface OpenStreamOptions {
  /**
   * The newest open connection (the last one opened), instead of the one libp2p reuses (the oldest).
   * For peers whose connections this node does not check for liveness (a controller's agents): after
   * a half-open fault the oldest may be dead on the far side while the peer has dialed a new one.
   */
  newestConnection?: boolean;
}

/**
 * Open `protocol` to `peerId` (string form); the signal bounds the dial and the negotiation; the
 * close's deadline runs on `timers`. (getConnections lists a peer's connections in the order they opened.)
 */
export async function openStream(libp2p: Pick<HostNet, 'dialProtocol' | 'getConnections'>, peerId: string, protocol: string, signal: AbortSignal, timers: TimerComponents,
  o: OpenStreamOptions = {}): Promise<PeerStream> {
  const peer = peerIdFromString(peerId);
  const newest = o.newestConnection === true ? libp2p.getConnections(peer).filter((c) => c.status === 'open').at(-1) : undefined;
  const stream = newest !== undefined ? await newest.newStream(protocol, { signal }) : await libp2p.dialProtocol(peer, protocol, { signal });
  return {
    duplex: stream,
    close: () => withDeadline(timers, STREAM_CLOSE_TIMEOUT_MS, undefined, (s) => stream.close(s === undefined ? {} : { signal: s }), (err) => err as Error)
      .catch(() => stream.abort(new Error('close failed or timed out'))),
  };
}
