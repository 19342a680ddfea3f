// What an inbound connection gets before its remote has authenticated: almost nothing.
//
// The dialer of a connection authenticates first (node/auth/auth-service.ts) and opens nothing else
// before it has the listener's answer, so until then an inbound connection needs exactly one stream,
// on the auth protocol, carrying one small frame. Two layers hold it to that:
//   - the connection is marked limited (libp2p's `limits`): the upgrader then serves only protocols
//     registered with `runOnLimitedConnection: true` (auth alone) and resets every other stream the
//     moment it is negotiated — nothing waits, nothing is buffered — identify answers nobody, so the
//     federation's protocols are not even listed to a peer that has not authenticated;
//   - its muxer accepts at most `streamsMax` inbound streams at once, each with a receive window of
//     `streamWindowBytes` instead of yamux's 256 KiB (a sender that overruns it breaks the yamux
//     protocol and loses the connection).
// Authentication lifts both. Outbound connections (this node dialed a member) are not limited: their
// listener may open streams the instant it accepted us, before our side has checked its answer, and
// the guard in front of each protocol waits for that check (node/auth/guard.ts).
//
// The muxer limits change fields of a yamux muxer's own config object (one per connection); a muxer
// without them is left alone (the connection-level limit still holds).

import type { Connection, Stream, StreamMuxer, StreamMuxerFactory, StreamMuxerInit } from '@libp2p/interface';

/** What an inbound connection may use before its remote authenticated. */
export interface PreAuthLimits {
  /** Inbound streams open at once. */
  streamsMax: number;
  /** Receive window of each of those streams, bytes. */
  streamWindowBytes: number;
}

interface Gate {
  open: boolean;
}

// Each stream a gated muxer accepted → its muxer's gate (weak: streams come and go).
const gates = new WeakMap<object, Gate>();

// The yamux config fields the limits replace (plain properties at runtime).
const GATED_FIELDS = ['maxInboundStreams', 'initialStreamWindowSize', 'maxStreamWindowSize'] as const;

function gateMuxerConfig(muxer: StreamMuxer, gate: Gate, limits: PreAuthLimits): void {
  const config = (muxer as unknown as { config?: Record<string, unknown> }).config;
  if (typeof config !== 'object' || config === null || !GATED_FIELDS.every((f) => typeof config[f] === 'number')) return;
  const limited: Record<(typeof GATED_FIELDS)[number], number> = {
    maxInboundStreams: limits.streamsMax,
    initialStreamWindowSize: limits.streamWindowBytes,
    maxStreamWindowSize: limits.streamWindowBytes,
  };
  for (const field of GATED_FIELDS) {
    const full = config[field] as number;
    Object.defineProperty(config, field, { enumerable: true, configurable: true, get: () => (gate.open ? full : Math.min(full, limited[field])) });
  }
}

/** Wrap a stream muxer so that inbound connections' muxers hold the pre-auth limits until lifted. */
export function preAuthLimited<C>(muxer: (components: C) => StreamMuxerFactory, limits: PreAuthLimits): (components: C) => StreamMuxerFactory {
  return (components) => {
    const factory = muxer(components);
    return {
      protocol: factory.protocol,
      createStreamMuxer(init?: StreamMuxerInit): StreamMuxer {
        if (init?.direction !== 'inbound') return factory.createStreamMuxer(init);
        const gate: Gate = { open: false };
        const onIncomingStream = init.onIncomingStream;
        const m = factory.createStreamMuxer({
          ...init,
          onIncomingStream: (stream) => {
            gates.set(stream, gate);
            onIncomingStream?.(stream);
          },
        });
        gateMuxerConfig(m, gate, limits);
        return m;
      },
    };
  };
}

/** Mark a new inbound connection limited until its remote authenticates (outbound ones are left alone). */
export function limitUntilAuthenticated(connection: Connection, deadlineMs: number): void {
  if (connection.direction === 'inbound') connection.limits = { seconds: Math.ceil(deadlineMs / 1000) };
}

/** The remote of `connection` authenticated (on `authStream`, when known): lift every pre-auth limit. */
export function liftPreAuthLimits(connection: Connection, authStream?: Stream): void {
  if (connection.direction !== 'inbound') return;
  delete connection.limits;
  for (const s of authStream === undefined ? connection.streams : [authStream, ...connection.streams]) {
    const gate = gates.get(s);
    if (gate !== undefined) gate.open = true;
  }
}
