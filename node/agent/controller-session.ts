// One session of an agent with the controller it takes its configuration from: subscribe to the
// controller's config stream, learn its conflict strategy from the hello, catch up with an
// anti-entropy pull from the agent's own replica (only the differences move), then apply live changes
// until the stream ends. Live changes are applied from the moment of the hello, alongside the
// catch-up: records join commutatively, so the order the two paths deliver them in never matters.
// A record the replica refuses (validation, clock skew) is counted and logged against the controller
// (rejections) and skipped; the session goes on. The stream never sends a record again, so the
// catch-up repeats for as long as the session lasts (resync-schedule.ts): periodically, and sooner
// after a refusal; a record refused or missed is pulled once it is acceptable, with no new session.
import type { PeerStream } from '../host/open-stream.ts';
import type { Store, StrategyName } from '../../storage/index.ts';
import { applyRecordBatch } from '../replication/apply-batch.ts';
import { runAntiEntropy, type AntiEntropyReport } from '../replication/anti-entropy-client.ts';
import type { AntiEntropyLimits } from '../replication/anti-entropy-messages.ts';
import { CONFIG_STREAM_VERSION, parseConfigStreamMessage } from '../replication/config-stream-messages.ts';
import type { RecordRejections } from '../replication/record-rejections.ts';
import { MessageStream, type MessageStreamOptions } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import { AGENT_DEFAULTS } from './agent-config.ts';
import { nextResyncMs, resyncSchedule, type ResyncSchedule } from './resync-schedule.ts';


/** What a session needs. */
export interface SessionOptions {
  /** Open a stream of the given protocol to the controller. */
  open(protocol: 'config-stream' | 'anti-entropy', signal: AbortSignal): Promise<PeerStream>;
  /** The replica, after the strategy check (it may be reopened under the controller's strategy). */
  replica(strategy: StrategyName): Promise<Store>;
  stream: MessageStreamOptions;
  limits: AntiEntropyLimits;
  /** Records per anti-entropy request. */
  batchSize: number;
  /** The controller's name is known (from its hello), with its vote lease duration in AgentAssisted mode. */
  onHello(member: string, hello: { voteLeaseMs?: number }): void;
  /** The catch-up is done: the replica holds everything the controller held at the hello. */
  onCaughtUp(report: AntiEntropyReport): void;
  /** A live batch was applied. */
  onBatch(applied: number, rejected: number): void;
  /** When the catch-up repeats after the first one; default: as with the default health-check interval. */
  resync?: ResyncSchedule;
  /** A repeated catch-up is done. */
  onResync?(report: AntiEntropyReport): void;
  /** Where records refused from the controller (live or caught up) are counted and logged. */
  rejections?: RecordRejections;
  /** Ends the session. */
  signal: AbortSignal;
}

/** Run the session until the stream ends or the signal aborts; throws on failures. */
export async function runControllerSession(o: SessionOptions): Promise<void> {
  // Ends the catch-ups when the live stream does, and the live stream when a catch-up fails.
  const done = new AbortController();
  const signal = AbortSignal.any([o.signal, done.signal]);
  const live = await o.open('config-stream', signal);
  try {
    const ms = new MessageStream(live.duplex, o.stream);
    await ms.write({ t: 'subscribe', v: CONFIG_STREAM_VERSION }, signal);
    const hello = parseConfigStreamMessage(await ms.read(signal), o.limits.keysPerRequestMax);
    if (hello.t !== 'hello') throw new ProtocolError('config stream must start with hello');
    if (hello.v !== CONFIG_STREAM_VERSION) throw new ProtocolError(`config-stream version ${hello.v} not supported`);
    const store = await o.replica(hello.strategy);
    o.onHello(hello.member, hello.voteLeaseMs === undefined ? {} : { voteLeaseMs: hello.voteLeaseMs });
    const refusals = new Refusals();
    const pump = pumpLive(ms, store, hello.member, o, signal, refusals);
    const catchUp = async (): Promise<AntiEntropyReport> => {
      const ae = await o.open('anti-entropy', signal);
      try {
        const r = await runAntiEntropy(new MessageStream(ae.duplex, o.stream), store, {
          repairMode: 'pull', batchSize: o.batchSize, limits: o.limits, source: hello.member, timers: o.stream.timers,
          ...(o.rejections === undefined ? {} : { rejections: o.rejections }),
        });
        if (r.rejected > 0) refusals.mark();
        return r;
      } finally {
        await ae.close().catch(() => undefined);
      }
    };
    // If the live stream fails during the catch-up, the session is over: stop the catch-up too.
    const caughtUp = catchUp();
    // Whichever settles second may reject after we stopped listening: not an unhandled rejection.
    pump.catch(() => undefined);
    caughtUp.catch(() => undefined);
    const first = await Promise.race([caughtUp.then((r) => ({ r })), pump.then(() => ({ r: undefined }))]);
    if (first.r === undefined) return;
    o.onCaughtUp(first.r);
    const again = repeatCatchUp(catchUp, o, signal, refusals);
    again.catch(() => undefined);
    await Promise.race([pump, again]);
  } finally {
    done.abort();
    await live.close().catch(() => undefined);
  }
}

async function pumpLive(ms: MessageStream, store: Store, source: string, o: SessionOptions, signal: AbortSignal, refusals: Refusals): Promise<void> {
  while (!signal.aborted) {
    const m = parseConfigStreamMessage(await ms.read(signal, Infinity), o.limits.keysPerRequestMax);
    if (m.t !== 'records') throw new ProtocolError('hello sent twice');
    const counts = await applyRecordBatch(store, m.records, 'a config-stream batch', source, o.rejections);
    if (counts.rejected > 0) refusals.mark();
    o.onBatch(counts.applied, counts.rejected);
  }
}

// The catch-up again and again until the signal aborts (resync-schedule.ts); throws when one fails.
async function repeatCatchUp(catchUp: () => Promise<AntiEntropyReport>, o: SessionOptions, signal: AbortSignal, refusals: Refusals): Promise<void> {
  const timers = o.stream.timers;
  const schedule = o.resync ?? resyncSchedule(AGENT_DEFAULTS.failover.healthCheckIntervalMs);
  let refusingRounds = 0;
  while (!signal.aborted) {
    refusingRounds = refusals.take() ? refusingRounds + 1 : 0;
    // Waiting a whole period, a refusal cuts the wait short (the next round waits afterRefusalMs);
    // backing off after refusals, further ones do not.
    const due = await new Promise<boolean>((resolve) => {
      const end = (due: boolean): void => {
        timers.clearTimeout(t);
        signal.removeEventListener('abort', abort);
        refusals.onMark = undefined;
        resolve(due);
      };
      const abort = (): void => end(false);
      const t = timers.setTimeout(() => end(true), nextResyncMs(schedule, refusingRounds));
      signal.addEventListener('abort', abort, { once: true });
      if (refusingRounds === 0) refusals.onMark = () => end(false);
    });
    if (!due) continue;
    const r = await catchUp();
    o.onResync?.(r);
  }
}

// Whether records from the controller were refused since the last look.
class Refusals {
  #seen = false;
  onMark: (() => void) | undefined;

  mark(): void {
    this.#seen = true;
    this.onMark?.();
  }

  /** Were there refusals since the last call? */
  take(): boolean {
    const seen = this.#seen;
    this.#seen = false;
    return seen;
  }
}
