// Serving the config stream to one agent: every change this controller applies from the moment the
// agent subscribed, as frames encoded once for all agents by the controller's ConfigBroadcast. The
// subscription starts before the hello goes out, so the agent's anti-entropy run (which starts
// after the hello) plus this stream cover every change: nothing falls between the two. A slow agent
// overflows its bounded frame queue and is disconnected; it resubscribes and catches up with
// anti-entropy, like after any reconnect.
import type { Store } from '../../storage/index.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import type { ConfigBroadcast } from './config-broadcast.ts';
import { CONFIG_STREAM_VERSION, parseConfigStreamRequest } from './config-stream-messages.ts';

/** Options of one served stream. */
export interface ConfigStreamServeOptions {
  /** This controller's name, sent in the hello. */
  member: string;
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

/** Serve until the signal aborts or the stream fails; throws on a bad request or a write failure. */
export async function serveConfigStream(
  stream: MessageStream, store: Store, broadcast: ConfigBroadcast, o: ConfigStreamServeOptions,
): Promise<ConfigStreamServeReport> {
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
  const frames = broadcast.subscribe(signal);
  try {
    await stream.write({
      t: 'hello', v: CONFIG_STREAM_VERSION, member: o.member, strategy: store.rule.name,
      ...(o.voteLeaseMs === undefined ? {} : { voteLeaseMs: o.voteLeaseMs }),
    }, signal);
    for await (const frame of frames) {
      await stream.writeFrame(frame.bytes, signal);
      report.batches++;
      report.records += frame.records;
    }
    if (violation !== undefined) throw violation;
    return report;
  } finally {
    done.abort();
    frames.end();
  }
}
