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

/** Open `protocol` to `peerId` (string form); the signal bounds the dial and the negotiation; the close's deadline runs on `timers`. */
export async function openStream(libp2p: Pick<HostNet, 'dialProtocol'>, peerId: string, protocol: string, signal: AbortSignal, timers: TimerComponents): Promise<PeerStream> {
  const stream = await libp2p.dialProtocol(peerIdFromString(peerId), protocol, { signal });
  return {
    duplex: stream,
    close: () => withDeadline(timers, STREAM_CLOSE_TIMEOUT_MS, undefined, (s) => stream.close(s === undefined ? {} : { signal: s }), (err) => err as Error)
      .catch(() => stream.abort(new Error('close failed or timed out'))),
  };
}
