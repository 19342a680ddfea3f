// One anti-entropy session between controllers at a time, per controller: what makes a repair happen
// once per difference. When a controller came back after missing writes, each of its peers started a
// session with it while it started one with each of them, all at once, and every session moved the
// same records (after a restart in a three-controller federation, four sessions and up to 5x the
// data). Now its sessions run one after another: the first moves the records, the next ones find the
// Merkle roots equal after one round trip.
//
// A session holds the gates of both its controllers, taken in the order of their member names: the
// client takes its own first when its name is lower, else after the server's hello; the server takes
// its own before answering hello (node/replication/replicator.ts). A session waiting for a gate then
// holds only gates of lower names, so no two sessions ever wait on each other (the classic ordered
// locking argument), and every wait ends with the session deadline at the latest. Agents' sessions
// only read and take no gate.

/** A held gate: call to release it (once; later calls do nothing). */
export type GateRelease = () => void;

export class SessionGate {
  #held = false;
  readonly #waiters: Array<() => void> = [];

  /** True while a session holds the gate. */
  get held(): boolean {
    return this.#held;
  }

  /** Sessions waiting for the gate. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Take the gate, waiting in arrival order; rejects with the signal's reason if it aborts first. */
  enter(signal: AbortSignal): Promise<GateRelease> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (!this.#held) {
      this.#held = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<GateRelease>((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener('abort', abort);
        resolve(this.#releaser());
      };
      const abort = (): void => {
        const i = this.#waiters.indexOf(wake);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal.reason);
      };
      this.#waiters.push(wake);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  #releaser(): GateRelease {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      if (next === undefined) this.#held = false;
      else next(); // handed over: stays held
    };
  }
}
