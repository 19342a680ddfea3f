// The membership protocol over streams (members-messages.ts): one request and one answer per stream,
// in the framing every protocol uses (wire/message-stream.ts), each read and write under a deadline.
// The serving side answers only authenticated controllers (the caller passes the member name the
// auth layer pinned to the connection), and a ballot must carry the name of the controller that sends
// it: nobody prepares or asks to accept in another's name.
import type { Duplex } from 'it-stream-types';
import type { TimerComponents } from '../components.ts';
import { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import type { MembersAcceptor } from './members-acceptor.ts';
import { membersStreamOptions, parseMembersReply, parseMembersRequest, type MembersReply, type MembersRequest } from './members-messages.ts';
import type { MembersTransport } from './members-proposer.ts';

/** Deadline of each read or write of one exchange, ms: a record is at most a few hundred KiB. */
export const MEMBERS_IO_TIMEOUT_MS = 5_000;

/** Serve one exchange from controller `from` on `duplex`: read the request, answer it, write the answer. */
export async function serveMembersExchange(
  duplex: Duplex<any, any, any>, from: string, acceptor: Pick<MembersAcceptor, 'answer'>, timers: TimerComponents,
  ioTimeoutMs = MEMBERS_IO_TIMEOUT_MS, signal?: AbortSignal,
): Promise<MembersReply> {
  const stream = new MessageStream(duplex, membersStreamOptions(timers, ioTimeoutMs));
  const req = parseMembersRequest(await stream.read(signal));
  if ((req.t === 'prepare' || req.t === 'accept') && req.ballot.proposer !== from) {
    throw new ProtocolError(`${req.t}: ballot of ${req.ballot.proposer} sent by ${from}`);
  }
  const reply = await acceptor.answer(req);
  await stream.write(reply, signal);
  return reply;
}

/** Opens a stream of the membership protocol to controller `member` (over its authenticated connection). */
export type OpenMembersStream = (member: string, signal: AbortSignal) => Promise<{ duplex: Duplex<any, any, any>; close(): Promise<void> }>;

/** A proposer's transport over streams: each exchange on a new stream, bounded by `ioTimeoutMs` per read or write. */
export function streamMembersTransport(open: OpenMembersStream, timers: TimerComponents, ioTimeoutMs = MEMBERS_IO_TIMEOUT_MS): MembersTransport {
  return {
    async ask(member: string, req: MembersRequest): Promise<MembersReply | undefined> {
      const ac = new AbortController();
      // The whole exchange: opening the stream, the write and the read, each bounded by ioTimeoutMs.
      const timer = timers.setTimeout(() => ac.abort(new Error(`membership exchange with ${member} timed out`)), 3 * ioTimeoutMs);
      let s: Awaited<ReturnType<OpenMembersStream>> | undefined;
      try {
        s = await open(member, ac.signal);
        const stream = new MessageStream(s.duplex, membersStreamOptions(timers, ioTimeoutMs));
        await stream.write(req, ac.signal);
        return parseMembersReply(await stream.read(ac.signal));
      } finally {
        timers.clearTimeout(timer);
        await s?.close().catch(() => undefined);
      }
    },
  };
}
