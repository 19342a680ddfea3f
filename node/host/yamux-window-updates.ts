// Yamux flow control: when a stream's reader takes data, the receiver gives the sender credit back
// with a WindowUpdate frame. The yamux spec leaves the timing to the receiver; go-yamux and
// rust-yamux wait until half the receive window is used. @chainsafe/libp2p-yamux 7.x sends one
// after every chunk read, however small, so every small message we send comes back as a second
// frame: one more Noise encryption, socket write and read, decryption and frame parse on the two
// sides. Our traffic is mostly small messages (config-stream deltas, pushes at low rates, acks):
// with a controller serving 33 agents in `bench:agents`, this halved its CPU per write (12-15 ms
// down to 4-8 ms).
//
// This wraps YamuxStream.prototype.sendWindowUpdate once per process to skip the update while more
// than half the window is left. Credit still returns long before the sender could run out, so a
// large transfer never waits for it (the test checks both). The prototype is shared by every yamux
// user in the process; the change stays within the spec, which is why that is acceptable.
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

// The stream fields the decision reads (TypeScript-private in the library, plain properties at runtime).
interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

const WRAPPED = Symbol.for('novaedge.yamux.window-updates-at-half');

/**
 * Make yamux streams send WindowUpdate frames only once half the receive window is used (or with
 * the opening SYN/ACK, which rides on one). Idempotent; returns false if the library no longer has
 * the shape this relies on (nothing is changed then: only the extra frames remain).
 */
export function sendWindowUpdatesAtHalf(): boolean {
  const proto = YamuxStream.prototype as unknown as Record<string | symbol, unknown>;
  if (proto[WRAPPED] === true) return true;
  const original = proto.sendWindowUpdate;
  if (typeof original !== 'function' || typeof StreamState?.SYNReceived !== 'number') return false;
  proto.sendWindowUpdate = function sendWindowUpdate(this: WindowFields): void {
    const opening = this.state === StreamState.Init || this.state === StreamState.SYNReceived;
    if (!opening && this.recvWindowCapacity > this.recvWindow / 2) return;
    original.call(this);
  };
  proto[WRAPPED] = true;
  return true;
}
