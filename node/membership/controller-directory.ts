// The controller directory (/novaedge/<federationID>/controllers/1.0.0; node/protocols.ts): what an
// agent reads of the membership record from the controller it follows, so it learns the controller
// set live (issue 21): controllers added since its configuration was written become failover
// candidates, removed ones stop being probed.
//
//   agent opens a stream, sends nothing      →  controller writes one frame and closes:
//   {t: 'directory', epoch, controllers: [{name, peerId, endpoints, region}], denied: [peerId…]}
//
// One exchange per stream, in the framing every protocol uses (wire/message-stream.ts), bounded in size
// (DIRECTORY_FRAME_BYTES_MAX) and time (each read or write under a deadline). The directory is the
// committed record (membership/federation-members.ts) without what agents have no use for (voters and
// learners, autoPromote, who the denied were): every controller it lists, learners included, and the
// peer ID of every denied identity. Controllers of the first record list no endpoints (their addresses
// are in every node's configuration): an agent can only learn where added controllers listen.
//
// The agent checks everything it decodes (parseControllerDirectory) with the record's own validators
// (controllerEntryProblem, isPeerIdText) and more: names and peer IDs unique, no listed controller
// denied, every endpoint a multiaddr that names no other peer than its controller's. A malformed answer
// is a ProtocolError (code PROTOCOL), a frame over the bound a FrameError (FRAME_TOO_LARGE): the agent
// counts it and keeps what it knew.
import { multiaddr } from '@multiformats/multiaddr';
import type { Duplex } from 'it-stream-types';
import type { TimerComponents } from '../host/timer-components.ts';
import { MessageStream, type MessageStreamOptions } from '../wire/message-stream.ts';
import { arr, int, messageType, obj, ProtocolError } from '../wire/protocol-error.ts';
import { MAX_CONTROLLERS } from '../../quorum/limits.ts';
import { isPeerIdText } from '../../membership/heartbeat.ts';
import { controllerEntryProblem, DENIED_MAX, type FederationMembers } from '../../membership/federation-members.ts';
import { EPOCH_MAX } from './members-messages.ts';

/**
 * Largest directory frame, bytes. 32 controllers of 8 endpoints of 256 characters and 1,024 denied
 * peer IDs are under 150 KiB as JSON.
 */
export const DIRECTORY_FRAME_BYTES_MAX = 256 * 1024;

/** Deadline of each read or write of the exchange, ms. */
export const DIRECTORY_IO_TIMEOUT_MS = 5_000;

/** One controller as the directory lists it. */
export interface DirectoryController {
  readonly name: string;
  readonly peerId: string;
  /** Multiaddrs it listens on; empty for the controllers of the first record. */
  readonly endpoints: readonly string[];
  /** Region label; '' when not set. */
  readonly region: string;
}

/** The controller directory at one membership epoch. */
export interface ControllerDirectory {
  readonly t: 'directory';
  readonly epoch: number;
  /** Sorted by name. */
  readonly controllers: readonly DirectoryController[];
  /** Peer IDs refused federation-wide (removed controllers among them), sorted. */
  readonly denied: readonly string[];
}

/** The directory of a committed membership record. */
export function directoryOf(record: FederationMembers): ControllerDirectory {
  return {
    t: 'directory',
    epoch: record.epoch,
    controllers: record.controllers.map((c) => ({ name: c.name, peerId: c.peerId, endpoints: [...c.endpoints], region: c.region })),
    denied: record.denied.map((d) => d.peerId),
  };
}

/** Stream options of the exchange: one small frame, no compression, one deadline per read or write. */
export function directoryStreamOptions(timers: TimerComponents, ioTimeoutMs: number): MessageStreamOptions {
  return { frameBytesMax: DIRECTORY_FRAME_BYTES_MAX, messageBytesMax: DIRECTORY_FRAME_BYTES_MAX, ioTimeoutMs, compress: false, timers };
}

const ENTRY_FIELDS = ['name', 'peerId', 'endpoints', 'region'];

function entryOf(v: unknown, what: string): DirectoryController {
  const e = obj(v, what);
  const extra = Object.keys(e).find((k) => !ENTRY_FIELDS.includes(k));
  if (extra !== undefined) throw new ProtocolError(`${what}: unknown field ${extra.slice(0, 40)}`);
  // The record's own check of a controller entry (autoPromote is not sent: any boolean passes it).
  const problem = controllerEntryProblem({ name: e.name, peerId: e.peerId, endpoints: e.endpoints, region: e.region, autoPromote: false });
  if (problem !== undefined) throw new ProtocolError(`${what}: ${problem}`);
  const entry = { name: e.name as string, peerId: e.peerId as string, endpoints: [...(e.endpoints as string[])], region: e.region as string };
  entry.endpoints.forEach((a, i) => {
    let peer: string | null;
    try {
      peer = multiaddr(a).getPeerId();
    } catch {
      throw new ProtocolError(`${what}.endpoints[${i}]: not a multiaddr`);
    }
    if (peer !== null && peer !== entry.peerId) throw new ProtocolError(`${what}.endpoints[${i}]: names peer ${peer.slice(0, 60)}, not ${entry.name}'s`);
  });
  return entry;
}

/** Validate a directory as an agent receives it; ProtocolError when anything is off. */
export function parseControllerDirectory(v: unknown): ControllerDirectory {
  const m = obj(v, 'directory');
  messageType(m, ['directory'] as const, 'directory');
  const extra = Object.keys(m).find((k) => !['t', 'epoch', 'controllers', 'denied'].includes(k));
  if (extra !== undefined) throw new ProtocolError(`directory: unknown field ${extra.slice(0, 40)}`);
  const epoch = int(m.epoch, 1, EPOCH_MAX, 'directory.epoch');
  const controllers = arr(m.controllers, MAX_CONTROLLERS, 'directory.controllers', entryOf);
  if (controllers.length === 0) throw new ProtocolError('directory.controllers: empty (a membership has at least one voter)');
  if (new Set(controllers.map((c) => c.name)).size !== controllers.length) throw new ProtocolError('directory.controllers: a name is listed twice');
  if (new Set(controllers.map((c) => c.peerId)).size !== controllers.length) throw new ProtocolError('directory.controllers: a peer ID is listed twice');
  const denied = arr(m.denied, DENIED_MAX, 'directory.denied', (x, what) => {
    if (!isPeerIdText(x)) throw new ProtocolError(`${what}: not a base58btc peer ID`);
    return x;
  });
  const deniedSet = new Set(denied);
  if (deniedSet.size !== denied.length) throw new ProtocolError('directory.denied: a peer ID is listed twice');
  const both = controllers.find((c) => deniedSet.has(c.peerId));
  if (both !== undefined) throw new ProtocolError(`directory: controller ${both.name} is listed and denied`);
  return { t: 'directory', epoch, controllers, denied };
}

/** Serve one exchange on `duplex` (an agent's stream): write the directory of the committed record. */
export async function serveControllerDirectory(
  duplex: Duplex<any, any, any>, members: { readonly committed: FederationMembers }, timers: TimerComponents,
  ioTimeoutMs = DIRECTORY_IO_TIMEOUT_MS, signal?: AbortSignal,
): Promise<ControllerDirectory> {
  const directory = directoryOf(members.committed);
  await new MessageStream(duplex, directoryStreamOptions(timers, ioTimeoutMs)).write(directory, signal);
  return directory;
}

/** Opens a stream of the directory protocol to the controller asked. */
export type OpenDirectoryStream = (signal: AbortSignal) => Promise<{ duplex: Duplex<any, any, any>; close(): Promise<void> }>;

/**
 * Read the directory over a stream `open` opens: the whole exchange (open, read) bounded by
 * 2 × ioTimeoutMs and by `signal`. Throws FrameError (timeout, size, format), ProtocolError (a
 * malformed directory), or whatever opening the stream threw.
 */
export async function fetchControllerDirectory(
  open: OpenDirectoryStream, timers: TimerComponents, ioTimeoutMs = DIRECTORY_IO_TIMEOUT_MS, signal?: AbortSignal,
): Promise<ControllerDirectory> {
  const ac = new AbortController();
  const timer = timers.setTimeout(() => ac.abort(new Error('controller directory exchange timed out')), 2 * ioTimeoutMs);
  const sig = signal === undefined ? ac.signal : AbortSignal.any([ac.signal, signal]);
  let s: Awaited<ReturnType<OpenDirectoryStream>> | undefined;
  try {
    s = await open(sig);
    const stream = new MessageStream(s.duplex, directoryStreamOptions(timers, ioTimeoutMs));
    return parseControllerDirectory(await stream.read(sig));
  } finally {
    timers.clearTimeout(timer);
    await s?.close().catch(() => undefined);
  }
}
