// Pushing records to one peer over a long-lived stream. Records queue per key (a newer state of a
// key replaces a queued older one: store states only grow, so the newer one carries the older);
// while earlier batches are in flight, new records coalesce into the next batch, up to batchSize.
// A bounded window of batches is in flight; acks end the sync lag. An ack names each record the
// peer refused (with the reason): only the others are copies held there, and only they reach the ack
// listeners (quorum durability) and recordsAcked. When the queue overflows or the stream fails,
// queued records are dropped and the peer is flagged for anti-entropy, which repairs whatever push
// did not deliver; until that repair completes the dropped records count in the lag.
import type { StoredRecord } from '../../storage/index.ts';
import { compareVv, encodeRecord } from '../../storage/index.ts';
import type { TimerComponents, TimerHandle } from '../components.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import type { RefusalReason } from './apply-batch.ts';
import { parseReceiverMessage, PUSH_VERSION } from './push-messages.ts';

/** Options of a pusher. */
export interface PusherOptions {
  /** Most records per batch (sync.batchSize). */
  batchSize: number;
  /** Most batches awaiting acknowledgement. */
  windowMax: number;
  /** Most keys queued; past this the queue is dropped and anti-entropy repairs. */
  queueMax: number;
  /** Most encoded record bytes in one batch (kept well under the frame limit). */
  batchBytesMax: number;
  /**
   * How long relay offers wait for company when nothing direct is queued. Offers are rarely wanted
   * (the peer usually has the record from its writer), so one message carrying many is cheaper than
   * one per write; the relay path is slower by at most this much.
   */
  relayLingerMs: number;
  /** Physical clock, ms: when the peer last acknowledged (lastSyncMs) and nothing else. */
  nowMs: () => number;
  /**
   * The node's monotonic clock and timers: how long records wait (the lag, the relay linger), which
   * a step of the physical clock must not stretch or shrink.
   */
  timers: TimerComponents;
  /** Called when the queue overflowed and `dropped` records were left to anti-entropy. */
  onOverflow?: (dropped: number) => void;
}

/** Per-peer replication status. */
export interface PushStatus {
  /** When the peer last acknowledged a batch (ms since epoch), 0 if never. */
  lastSyncMs: number;
  /** Records queued, not yet sent. */
  queued: number;
  /** Batches sent and not yet acknowledged. */
  inFlight: number;
  /** Batches acknowledged. */
  batchesAcked: number;
  /** Records the peer acknowledged as stored (durably there); refused ones are not counted. */
  recordsAcked: number;
  /** Records the peer refused (clock skew, validation): not stored there. */
  recordsRefused: number;
  /** Stream failures and queue overflows. */
  failures: number;
  /** Queue overflows: the queue was dropped and the peer left to anti-entropy. */
  overflows: number;
  /** Set when records were dropped: the peer needs an anti-entropy run. */
  needsRepair: boolean;
}

interface Queued {
  record: StoredRecord;
  enqueuedMs: number;
  /** A relayed record: offered as (key, digest) first, sent only if the peer wants it. */
  relay: boolean;
}

interface Batch {
  records: StoredRecord[];
  /** Relayed records offered in this batch, by key. */
  offered: Map<string, Queued>;
  oldestMs: number;
}

/** Called when the peer acknowledged a record as stored (durable there). */
export type AckListener = (record: StoredRecord) => void;
/** Called when the peer refused a record, with its reason (e.g. clock_skew). */
export type RefusalListener = (record: StoredRecord, reason: RefusalReason) => void;

export class PeerPusher {
  readonly peer: string;
  readonly status: PushStatus = {
    lastSyncMs: 0, queued: 0, inFlight: 0, batchesAcked: 0, recordsAcked: 0, recordsRefused: 0, failures: 0, overflows: 0, needsRepair: false,
  };
  readonly #opts: PusherOptions;
  readonly #queue = new Map<string, Queued>();
  readonly #inFlight = new Map<number, Batch>();
  readonly #ackListeners = new Set<AckListener>();
  readonly #refusalListeners = new Set<RefusalListener>();
  // Enqueue time of the oldest record dropped and not yet handed to a repair, and of the oldest one
  // handed to the repair running now (undefined: none): they count in the lag until repaired.
  #droppedSinceMs: number | undefined;
  #repairingSinceMs: number | undefined;
  #stream: MessageStream | undefined;
  #nextId = 1;
  #wake: (() => void) | undefined;
  // Queued entries that are not relay offers: when there are none, offers may linger.
  #direct = 0;

  constructor(peer: string, opts: PusherOptions) {
    this.peer = peer;
    this.#opts = opts;
  }

  /** Queue a record for the peer; `relay` for records this node got from another peer. */
  enqueue(record: StoredRecord, relay = false): void {
    const held = this.#queue.get(record.key);
    // Records reach us in store order, so a later one for the same key is never older; keep the
    // check anyway: an older state must never replace a newer one.
    if (held !== undefined && compareVv(held.record.vv, record.vv) === 'after') return;
    if (held === undefined && this.#queue.size >= this.#opts.queueMax) {
      const dropped = this.#queue.size;
      this.#dropQueue();
      this.status.failures++;
      this.status.overflows++;
      this.#opts.onOverflow?.(dropped);
    }
    // A local change of the key makes the whole entry direct: the peer cannot have it from elsewhere.
    this.#setQueued(record.key, { record, enqueuedMs: held?.enqueuedMs ?? this.#opts.timers.nowMs(), relay: relay && (held?.relay ?? true) });
    this.status.queued = this.#queue.size;
    this.#wake?.();
  }

  /** Listen for records acknowledged as stored (quorum durability). Returns the function that stops listening. */
  onAck(listener: AckListener): () => void {
    this.#ackListeners.add(listener);
    return () => this.#ackListeners.delete(listener);
  }

  /** Listen for records the peer refused. Returns the function that stops listening. */
  onRefused(listener: RefusalListener): () => void {
    this.#refusalListeners.add(listener);
    return () => this.#refusalListeners.delete(listener);
  }

  /**
   * An anti-entropy run with the peer starts: it repairs every record dropped so far (they are in
   * the store already), so the flag is cleared; records dropped from now on flag the peer again.
   */
  beginRepair(): void {
    this.status.needsRepair = false;
    this.#repairingSinceMs = minDefined(this.#repairingSinceMs, this.#droppedSinceMs);
    this.#droppedSinceMs = undefined;
  }

  /** The run begun by beginRepair ended: repaired, or not (the peer stays flagged). */
  endRepair(repaired: boolean): void {
    if (!repaired) {
      this.status.needsRepair = true;
      this.#droppedSinceMs = minDefined(this.#droppedSinceMs, this.#repairingSinceMs);
    }
    this.#repairingSinceMs = undefined;
  }

  /** True while a stream is attached. */
  get connected(): boolean {
    return this.#stream !== undefined;
  }

  /** True when nothing is queued or awaiting acknowledgement. */
  get idle(): boolean {
    return this.#queue.size === 0 && this.#inFlight.size === 0;
  }

  /**
   * Run the push stream until it fails or `signal` aborts: hello, then batches, reading acks
   * concurrently. Resolves when the stream ends; throws on protocol errors.
   */
  async run(stream: MessageStream, signal: AbortSignal): Promise<void> {
    if (this.#stream !== undefined) throw new Error('assertion: pusher already has a stream');
    await stream.write({ t: 'hello', v: PUSH_VERSION }, signal);
    const hello = parseReceiverMessage(await stream.read(signal), this.#opts.batchSize);
    if (hello.t !== 'hello' || hello.v !== PUSH_VERSION) throw new ProtocolError('push: bad hello reply');
    this.#stream = stream;
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    stop.signal.addEventListener('abort', () => this.#wake?.(), { once: true });
    try {
      await Promise.race([this.#readAcks(stream, stop.signal), this.#pump(stream, stop.signal)]);
    } finally {
      stop.abort();
      signal.removeEventListener('abort', onAbort);
      this.#stream = undefined;
      this.#wake?.();
      if (this.#inFlight.size > 0 || this.#queue.size > 0) {
        // Whatever was not acknowledged is left to anti-entropy; a fresh stream starts clean.
        for (const b of this.#inFlight.values()) this.#markDropped(b.oldestMs);
        this.#inFlight.clear();
        this.#dropQueue();
      }
      this.status.queued = 0;
      this.status.inFlight = 0;
    }
  }

  /**
   * How far behind the peer is: the age of the oldest record it has not acknowledged yet (queued, in
   * flight, or dropped and not yet repaired by anti-entropy), 0 when nothing is pending. Not the
   * lag of the last acknowledged batch: that would stay, stale, on an idle peer that holds everything.
   */
  lagMs(): number {
    let oldest = Math.min(this.#droppedSinceMs ?? Infinity, this.#repairingSinceMs ?? Infinity);
    for (const q of this.#queue.values()) oldest = Math.min(oldest, q.enqueuedMs);
    for (const b of this.#inFlight.values()) oldest = Math.min(oldest, b.oldestMs);
    return oldest === Infinity ? 0 : this.#opts.timers.nowMs() - oldest;
  }

  #setQueued(key: string, q: Queued): void {
    const before = this.#queue.get(key);
    if (before !== undefined && !before.relay) this.#direct--;
    if (!q.relay) this.#direct++;
    this.#queue.set(key, q);
  }

  #deleteQueued(key: string): void {
    const before = this.#queue.get(key);
    if (before !== undefined && !before.relay) this.#direct--;
    this.#queue.delete(key);
  }

  // Drop every queued record: the peer is flagged for anti-entropy, which will bring them.
  #dropQueue(): void {
    if (this.#queue.size === 0) return;
    let oldest = Infinity;
    for (const q of this.#queue.values()) oldest = Math.min(oldest, q.enqueuedMs);
    this.#markDropped(oldest);
    this.#queue.clear();
    this.#direct = 0;
  }

  #markDropped(oldestMs: number): void {
    this.status.needsRepair = true;
    this.#droppedSinceMs = minDefined(this.#droppedSinceMs, oldestMs);
  }

  // Wait until woken (enqueue, ack, stop) or `ms` passes.
  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer: TimerHandle = ms === Infinity ? undefined : this.#opts.timers.setTimeout(resolve, ms);
      this.#wake = () => { this.#opts.timers.clearTimeout(timer); resolve(); };
    });
    this.#wake = undefined;
  }

  async #pump(stream: MessageStream, signal: AbortSignal): Promise<void> {
    let gathered = false;
    while (!signal.aborted) {
      if (this.#queue.size === 0 || this.#inFlight.size >= this.#opts.windowMax) {
        await this.#sleep(Infinity);
        continue;
      }
      if (!gathered) {
        // Let the rest of the changes committed in this turn of the event loop join the batch: they
        // reach the queue one at a time, and the pump woken by the first would send it alone.
        await new Promise<void>((r) => this.#opts.timers.setImmediate(r));
        gathered = true;
        continue;
      }
      gathered = false;
      if (this.#direct === 0 && this.#queue.size < this.#opts.batchSize) {
        const oldest = this.#queue.values().next().value!.enqueuedMs;
        const waitMs = oldest + this.#opts.relayLingerMs - this.#opts.timers.nowMs();
        if (waitMs > 0) {
          await this.#sleep(waitMs);
          continue;
        }
      }
      const records: StoredRecord[] = [];
      const encoded: string[] = [];
      const offered = new Map<string, Queued>();
      let oldestMs = Infinity;
      let bytes = 0;
      for (const [key, q] of this.#queue) {
        // Records carry their canonical encoding already (computed for their digest): splice it in
        // rather than serialise every record again.
        const text = q.relay ? '' : encodeRecord(q.record);
        // Keep a frame within bounds: a batch of large records is cut short (never empty).
        if (records.length > 0 && bytes + text.length > this.#opts.batchBytesMax) break;
        bytes += text.length;
        if (q.relay) offered.set(key, q);
        else {
          records.push(q.record);
          encoded.push(text);
        }
        oldestMs = Math.min(oldestMs, q.enqueuedMs);
        this.#deleteQueued(key);
        if (records.length + offered.size >= this.#opts.batchSize) break;
      }
      const id = this.#nextId++;
      this.#inFlight.set(id, { records, offered, oldestMs });
      this.status.queued = this.#queue.size;
      this.status.inFlight = this.#inFlight.size;
      const have = [...offered.values()].map((q) => [q.record.key, q.record.digest] as [string, string]);
      await stream.writeJsonText(`{"t":"batch","id":${id},"have":${JSON.stringify(have)},"records":[${encoded.join(',')}]}`, signal);
    }
  }

  async #readAcks(stream: MessageStream, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Idle between acks is normal on a long-lived stream: no read deadline, the signal ends it.
      const msg = parseReceiverMessage(await stream.read(signal, Infinity), this.#opts.batchSize);
      if (msg.t !== 'ack') throw new ProtocolError('push: expected ack');
      const batch = this.#inFlight.get(msg.id);
      if (batch === undefined) throw new ProtocolError(`push: ack for unknown batch ${msg.id}`);
      this.#inFlight.delete(msg.id);
      this.status.lastSyncMs = this.#opts.nowMs();
      this.status.batchesAcked++;
      this.status.inFlight = this.#inFlight.size;
      const refused = new Map<number, RefusalReason>();
      for (const [i, reason] of msg.refused) {
        if (i >= batch.records.length) throw new ProtocolError(`push: ack refuses record ${i} of a batch of ${batch.records.length}`);
        refused.set(i, reason);
      }
      const wanted = new Set<string>();
      // Offered records the peer lacks go out in full now (unless a newer state is already queued).
      for (const key of msg.want) {
        const q = batch.offered.get(key);
        if (q === undefined) throw new ProtocolError(`push: ack wants ${key.slice(0, 100)}, which was not offered`);
        wanted.add(key);
        if (!this.#queue.has(key)) this.#setQueued(key, { ...q, relay: false });
      }
      this.status.recordsAcked += batch.records.length - refused.size + batch.offered.size - wanted.size;
      this.status.recordsRefused += refused.size;
      for (const [i, r] of batch.records.entries()) {
        const reason = refused.get(i);
        if (reason === undefined) for (const l of this.#ackListeners) l(r);
        else for (const l of this.#refusalListeners) l(r, reason);
      }
      // An offer the peer did not want is a state it holds.
      for (const [key, q] of batch.offered) if (!wanted.has(key)) for (const l of this.#ackListeners) l(q.record);
      this.status.queued = this.#queue.size;
      this.#wake?.();
    }
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
