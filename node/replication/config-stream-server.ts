// Serving the config stream to one agent: every change this controller applies from the moment the
// agent subscribed, batched while the previous batch is still being written. The watch starts before
// the hello goes out, so the agent's anti-entropy run (which starts after the hello) plus this stream
// cover every change: nothing falls between the two. A slow agent overflows its bounded watch queue
// and is disconnected; it resubscribes and catches up with anti-entropy, like after any reconnect.
import { encodeRecord, type Store } from '../../storage/index.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import { CONFIG_STREAM_VERSION, parseConfigStreamRequest } from './config-stream-messages.ts';

/** Options of one served stream. */
export interface ConfigStreamServeOptions {
  /** This controller's name, sent in the hello. */
  member: string;
  /** Most records in one batch. */
  batchSize: number;
  /** Most bytes of records in one batch (a single larger record still goes alone). */
  batchBytesMax: number;
  /** Ends the stream (node stopping, agent disconnected). */
  signal: AbortSignal;
  /** AgentAssisted: the vote lease duration (splitBrain.leaseMs), sent in the hello for the agent's votes. */
  voteLeaseMs?: number | undefined;
}

/** What a served stream did, for counters. */
export interface ConfigStreamServeReport {
  batches: number;
  records: number;
}

const NEXT_TICK = Symbol('next tick');

/** Serve until the signal aborts or the stream fails; throws on a bad request or a write failure. */
export async function serveConfigStream(stream: MessageStream, store: Store, o: ConfigStreamServeOptions): Promise<ConfigStreamServeReport> {
  const req = parseConfigStreamRequest(await stream.read(o.signal));
  if (req.v !== CONFIG_STREAM_VERSION) throw new ProtocolError(`config-stream version ${req.v} not supported (${CONFIG_STREAM_VERSION})`);
  const report: ConfigStreamServeReport = { batches: 0, records: 0 };
  // The agent sends nothing after subscribing: its end of the stream closing (or anything else it
  // sends) ends the subscription, so an idle stream to a departed agent does not linger.
  const done = new AbortController();
  const signal = AbortSignal.any([o.signal, done.signal]);
  let violation: ProtocolError | undefined;
  void stream.read(signal, Infinity).then(() => {
    violation = new ProtocolError('config-stream: the agent may send nothing after subscribe');
    done.abort();
  }, () => done.abort());
  const it = store.watch({ signal })[Symbol.asyncIterator]();
  try {
    await stream.write({
      t: 'hello', v: CONFIG_STREAM_VERSION, member: o.member, strategy: store.rule.name,
      ...(o.voteLeaseMs === undefined ? {} : { voteLeaseMs: o.voteLeaseMs }),
    }, signal);
    let next = it.next();
    while (true) {
      const first = await next;
      if (first.done === true) {
        if (violation !== undefined) throw violation;
        return report;
      }
      const texts = [encodeRecord(first.value.record)];
      let bytes = texts[0]!.length;
      next = it.next();
      // Take what is already queued, without waiting for more.
      while (texts.length < o.batchSize && bytes < o.batchBytesMax) {
        const r = await Promise.race([next, new Promise<typeof NEXT_TICK>((resolve) => setImmediate(resolve, NEXT_TICK))]);
        if (r === NEXT_TICK || r.done === true) break;
        const text = encodeRecord(r.value.record);
        texts.push(text);
        bytes += text.length;
        next = it.next();
      }
      await stream.writeJsonText(`{"t":"records","records":[${texts.join(',')}]}`, signal);
      report.batches++;
      report.records += texts.length;
    }
  } finally {
    done.abort();
    await it.return?.();
  }
}
