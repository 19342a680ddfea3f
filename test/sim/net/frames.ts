// What travels on a simulated socket: handshake frames, a muxer's stream frames, connection close
// and reset, and gossip RPCs. One socket is two pipes (one per direction); a pipe delivers its
// frames in order (TCP) after the link's latency, except gossip datagrams, which a fault profile
// may drop, duplicate or reorder.

/** A gossip message as it travels (StrictSign: author, sequence number, signature). */
export interface GossipWireMessage {
  /** Author's peer ID (string form). */
  from: string;
  topic: string;
  data: Uint8Array;
  seqno: bigint;
}

/** A gossip RPC. */
export interface GossipRpc {
  /** The first RPC on a new gossip peering (the receiver peers back). */
  hello?: boolean;
  subscriptions?: Array<{ topic: string; subscribe: boolean }>;
  messages?: GossipWireMessage[];
}

/** A frame on a socket's pipe. */
export type Frame =
  // Handshake (Noise XX after TCP): dialer hello, listener accept (its peer ID), dialer finish (its peer ID).
  | { k: 'hello' }
  | { k: 'accept'; peer: string }
  | { k: 'finish'; peer: string }
  // Muxer: open a stream proposing protocols; the listener accepts one or refuses all.
  | { k: 'open'; s: number; protocols: string[] }
  | { k: 'ack'; s: number; protocol: string }
  | { k: 'na'; s: number }
  | { k: 'data'; s: number; bytes: Uint8Array }
  | { k: 'credit'; s: number; n: number }
  | { k: 'fin'; s: number }
  | { k: 'reset'; s: number }
  // Connection: graceful close (muxer GoAway and FIN), reset (TCP RST).
  | { k: 'goaway' }
  | { k: 'rst' }
  | { k: 'gossip'; rpc: GossipRpc };

/** A short description of a frame for the trace. */
export function describeFrame(f: Frame): string {
  switch (f.k) {
    case 'open': return `open s${f.s} ${f.protocols.join(',')}`;
    case 'ack': return `ack s${f.s}`;
    case 'na': return `na s${f.s}`;
    case 'data': return `data s${f.s} ${f.bytes.byteLength}B`;
    case 'credit': return `credit s${f.s} ${f.n}`;
    case 'fin': return `fin s${f.s}`;
    case 'reset': return `reset s${f.s}`;
    case 'gossip': {
      const r = f.rpc;
      return `gossip${r.hello === true ? ' hello' : ''}${r.subscriptions === undefined ? '' : ` subs ${r.subscriptions.length}`}${r.messages === undefined ? '' : ` msgs ${r.messages.map((m) => `${m.from.slice(-6)}:${m.seqno}`).join(',')}`}`;
    }
    default: return f.k;
  }
}
