// Messages of the config stream (/novaedge/<federationID>/config-stream/1.0.0): an agent subscribes
// to its controller, which answers with a hello (its conflict strategy, so the agent's replica serves
// the same views) and then sends every change it applies, in batches, for as long as the stream lives.
// Catching up on what the agent missed is anti-entropy's job, run right after the hello.
import { STRATEGY_NAMES, type StrategyName } from '../../storage/index.ts';
import { MAX_LEASE_MS } from '../../quorum/index.ts';
import { arr, int, messageType, obj, ProtocolError, str } from '../wire/protocol-error.ts';
import { SMALL_MESSAGE_BYTES_MAX, type InboundCaps } from '../wire/message-limits.ts';

/** Protocol version carried in subscribe and hello. */
export const CONFIG_STREAM_VERSION = 1;

/** Agent to controller. */
export type ConfigStreamRequest = { t: 'subscribe'; v: number };

/** Controller to agent. */
export type ConfigStreamMessage =
  /** voteLeaseMs: AgentAssisted controllers tell their agents the vote lease duration (absent otherwise). */
  | { t: 'hello'; v: number; member: string; strategy: StrategyName; voteLeaseMs?: number }
  | { t: 'records'; records: unknown[] };

/** Validate an agent's request. */
export function parseConfigStreamRequest(v: unknown): ConfigStreamRequest {
  const m = obj(v, 'config-stream request');
  messageType(m, ['subscribe'] as const, 'config-stream request');
  return { t: 'subscribe', v: int(m.v, 0, 1_000, 'subscribe.v') };
}

/** Validate a controller's message; `recordsMax` bounds a batch. */
export function parseConfigStreamMessage(v: unknown, recordsMax: number): ConfigStreamMessage {
  const m = obj(v, 'config-stream message');
  const t = messageType(m, ['hello', 'records'] as const, 'config-stream message');
  if (t === 'records') return { t, records: arr(m.records, recordsMax, 'records.records', (x) => x) };
  const strategy = str(m.strategy, 32, 'hello.strategy');
  if (!(STRATEGY_NAMES as readonly string[]).includes(strategy)) throw new ProtocolError(`hello.strategy: unknown strategy ${strategy}`);
  const hello: ConfigStreamMessage = { t, v: int(m.v, 0, 1_000, 'hello.v'), member: str(m.member, 63, 'hello.member'), strategy: strategy as StrategyName };
  if (m.voteLeaseMs !== undefined) hello.voteLeaseMs = int(m.voteLeaseMs, 1, MAX_LEASE_MS, 'hello.voteLeaseMs');
  return hello;
}

/** What a controller reads on a config stream (message-limits.ts): the subscription, a small message. */
export const CONFIG_STREAM_REQUEST_CAPS: InboundCaps = Object.freeze({ messageBytesMax: SMALL_MESSAGE_BYTES_MAX });

/** What an agent reads: the hello, and batches of records the controller cuts at half a frame. */
export function configStreamCaps(frameBytesMax: number): InboundCaps {
  return { messageBytesMax: SMALL_MESSAGE_BYTES_MAX, messageBytesMaxByType: { records: frameBytesMax } };
}
