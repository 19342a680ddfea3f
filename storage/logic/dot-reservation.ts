// Which of its own writes a member may send to peers before its own copy is durable, and the counter
// floor that keeps a crash from reusing a dot.
//
// A quorum write is faster when the writer sends it to peers while its own synced batch is still
// being written (the fsyncs run in parallel, as a Raft leader's and followers' do). But a peer may
// then hold a write the writer loses in a crash; the writer, restarted, would give the same counter
// to its next write of that key: two different writes with one dot (member, counter), which version
// vectors take for the same one, and the replicas would never converge.
//
// So counters are reserved on disk ahead of use. Every synced batch also stores a reservation, the
// highest counter handed out so far plus `blockSize`; a write may go out early only when its counter
// is within the reservation already durable. A store that opens takes the durable reservation as its
// floor: every counter it hands out from then on is above it (replica-ops.ts localOp), so above every
// counter a peer may hold of a write it lost. A clean close (every batch landed, nothing sent that is
// not held) stores the floor back, so a clean restart does not raise the counters.

/** Counters reserved ahead of the highest handed out (a write past the reservation goes out once durable). */
export const DOT_RESERVATION_BLOCK = 10_000;

export class DotReservation {
  /** Counters of local writes are above this: the reservation durable when the store opened. */
  readonly floor: number;
  readonly #blockSize: number;
  #assignedMax: number;
  #durable: number;

  /** `durableAtOpen`: the reservation the store held on disk when opened (0 for a new store). */
  constructor(durableAtOpen: number, blockSize = DOT_RESERVATION_BLOCK) {
    if (!Number.isSafeInteger(durableAtOpen) || durableAtOpen < 0) throw new RangeError(`dot reservation ${durableAtOpen} is not a counter`);
    this.floor = durableAtOpen;
    this.#blockSize = blockSize;
    this.#assignedMax = durableAtOpen;
    this.#durable = durableAtOpen;
  }

  /** A local write was given `counter`. */
  assigned(counter: number): void {
    if (counter <= this.floor) throw new Error(`assertion: counter ${counter} at or below the floor ${this.floor}`);
    if (counter > this.#assignedMax) this.#assignedMax = counter;
  }

  /** The reservation a synced batch being cut stores: above every counter handed out so far. */
  cut(): number {
    return this.#assignedMax + this.#blockSize;
  }

  /** The batch that stored `reservation` is durable. */
  landed(reservation: number): void {
    if (reservation > this.#durable) this.#durable = reservation;
  }

  /** True when a write with `counter` may reach peers before it is durable here. */
  mayShareEarly(counter: number): boolean {
    return counter > this.floor && counter <= this.#durable;
  }

  /** The reservation a clean close stores: every counter handed out is durable here, only the floor still stands. */
  cleanClose(): number {
    return this.floor;
  }
}
