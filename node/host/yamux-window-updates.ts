// Yamux flow control: when a stream's reader takes data, the receiver gives the sender credit back
// with a WindowUpdate frame. The yamux spec leaves the timing to the receiver. @chainsafe/libp2p-yamux
// 7.x sends one after every chunk read, however small, so every small message we send comes back as a
// second frame: one more Noise encryption, socket write and read, decryption and frame parse on the
// two sides. Our traffic is mostly small messages (config-stream deltas, pushes at low rates, acks):
// in `bench:agents` (100 agents, 10 writes/s) this took a controller's CPU per write from 12-15 ms
// to 3-11 ms and left the machine 31-33 % idle instead of 8-10 %.
//
// This wraps YamuxStream.prototype.sendWindowUpdate once per process so that credit goes back once
// WINDOW_UPDATE_BYTES_MIN have arrived since the last update (or half the window, if smaller).
// Large chunks (bulk transfers: anti-entropy, catch-up) still get an update each, as before, so
// the library's window growth and the sender's pace are unchanged for them; only the per-message
// frames of small messages go. The prototype is shared by every yamux user in the process; the
// change stays within the spec, which is why that is acceptable.
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

// The stream fields the decision reads (TypeScript-private in the library, plain properties at runtime).
interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

const WRAPPED = Symbol.for('novaedge.yamux.window-updates-batched');
/** Bytes received since the last WindowUpdate before the next one goes (1/8 of yamux's initial 256 KiB window). */
export const WINDOW_UPDATE_BYTES_MIN = 32 * 1024;

/**
 * Make yamux streams send a WindowUpdate frame only once WINDOW_UPDATE_BYTES_MIN (or half the
 * window) arrived since the last one, or with the opening SYN/ACK, which rides on one. Idempotent;
 * returns false if the library no longer has the shape this relies on (nothing is changed then:
 * only the extra frames remain).
 */
export function batchWindowUpdates(): boolean {
  const proto = YamuxStream.prototype as unknown as Record<string | symbol, unknown>;
  if (proto[WRAPPED] === true) return true;
  const original = proto.sendWindowUpdate;
  if (typeof original !== 'function' || typeof StreamState?.SYNReceived !== 'number') return false;
  proto.sendWindowUpdate = function sendWindowUpdate(this: WindowFields): void {
    const opening = this.state === StreamState.Init || this.state === StreamState.SYNReceived;
    const uncredited = this.recvWindow - this.recvWindowCapacity;
    if (!opening && uncredited < Math.min(WINDOW_UPDATE_BYTES_MIN, this.recvWindow / 2)) return;
    original.call(this);
  };
  proto[WRAPPED] = true;
  return true;
}
