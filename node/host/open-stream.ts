// Opening a protocol stream to a connected peer, in the shape the wire code uses: the duplex, and a
// close that never throws (a stream that cannot close gracefully is aborted instead).
import { peerIdFromString } from '@libp2p/peer-id';
import type { Duplex } from 'it-stream-types';
import type { HostLibp2p } from './create-host.ts';

/** A stream to a peer: a duplex of bytes, and how to close it when done. */
export interface PeerStream {
  duplex: Duplex<any, any, any>;
  close(): Promise<void>;
}

/** Open `protocol` to `peerId` (string form); the signal bounds the dial and the negotiation. */
export async function openStream(libp2p: HostLibp2p, peerId: string, protocol: string, signal: AbortSignal): Promise<PeerStream> {
  const stream = await libp2p.dialProtocol(peerIdFromString(peerId), protocol, { signal });
  return { duplex: stream, close: () => stream.close().catch(() => stream.abort(new Error('close failed'))) };
}
