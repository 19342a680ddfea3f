// A minimal etcd v3 client over its native gRPC API, for bench/vs-etcd.ts: unary calls on one
// HTTP/2 connection per endpoint (as etcd's own clientv3 does), protobuf messages encoded by hand.
// Only what the benchmark needs: Put, a Txn of puts, a serializable count-only Range (a member's
// revision) and Maintenance.Status (the leader). No dependency: node_modules has no gRPC client, and
// etcd's HTTP/JSON gateway would add a loopback gRPC hop inside each etcd process to every call.
import { connect, type ClientHttp2Session } from 'node:http2';

/** Default deadline of one call, ms. */
export const ETCD_CALL_TIMEOUT_MS = 10_000;

/** A failed etcd call (a gRPC status other than OK, a transport error or a timeout). */
export class EtcdCallError extends Error {
  /** The gRPC status code, when etcd answered. */
  readonly grpcStatus: number | undefined;
  constructor(message: string, grpcStatus?: number, options?: ErrorOptions) {
    super(message, options);
    this.grpcStatus = grpcStatus;
  }
}

// --- protobuf, the little of it used here -------------------------------------------------------

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** A length-delimited field (bytes, string or an embedded message). */
function bytesField(no: number, b: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([...varint(BigInt((no << 3) | 2)), ...varint(BigInt(b.length))]), b]);
}

/** A varint field (integers, booleans). */
function intField(no: number, v: bigint): Buffer {
  return Buffer.from([...varint(BigInt(no << 3)), ...varint(v)]);
}

/** The fields of a message by number: varints as bigint, length-delimited ones as Buffer. */
function decode(buf: Buffer): Map<number, Array<bigint | Buffer>> {
  const fields = new Map<number, Array<bigint | Buffer>>();
  let i = 0;
  const readVarint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new EtcdCallError('truncated protobuf varint');
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(readVarint());
    const no = tag >>> 3;
    let value: bigint | Buffer;
    switch (tag & 7) {
      case 0: value = readVarint(); break;
      case 1: value = buf.subarray(i, i + 8); i += 8; break;
      case 2: { const len = Number(readVarint()); value = buf.subarray(i, i + len); i += len; break; }
      case 5: value = buf.subarray(i, i + 4); i += 4; break;
      default: throw new EtcdCallError(`unsupported protobuf wire type ${tag & 7}`);
    }
    const list = fields.get(no) ?? [];
    list.push(value);
    fields.set(no, list);
  }
  return fields;
}

const intOf = (f: Map<number, Array<bigint | Buffer>>, no: number): bigint => {
  const v = f.get(no)?.[0];
  return typeof v === 'bigint' ? v : 0n;
};
const msgOf = (f: Map<number, Array<bigint | Buffer>>, no: number): Map<number, Array<bigint | Buffer>> => {
  const v = f.get(no)?.[0];
  return Buffer.isBuffer(v) ? decode(v) : new Map();
};
// ResponseHeader { cluster_id = 1; member_id = 2; revision = 3; raft_term = 4 }, field 1 of every response.
const revisionOf = (res: Buffer): bigint => intOf(msgOf(decode(res), 1), 3);

// PutRequest { key = 1; value = 2; ... }
const putRequest = (key: string, value: Uint8Array): Buffer => Buffer.concat([bytesField(1, Buffer.from(key)), bytesField(2, value)]);

/** One etcd endpoint (http://host:port): a lazily (re)opened HTTP/2 session and unary calls on it. */
export class EtcdClient {
  readonly url: string;
  #session: ClientHttp2Session | undefined;

  constructor(url: string) {
    this.url = url;
  }

  #open(): ClientHttp2Session {
    if (this.#session !== undefined && !this.#session.closed && !this.#session.destroyed) return this.#session;
    const s = connect(this.url);
    // Errors reach the calls through their streams; an unhandled session error would crash the bench.
    s.on('error', () => undefined);
    s.on('close', () => { if (this.#session === s) this.#session = undefined; });
    this.#session = s;
    return s;
  }

  /** One unary call: `path` is /package.Service/Method, `body` the encoded request. */
  call(path: string, body: Buffer, timeoutMs = ETCD_CALL_TIMEOUT_MS): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      let session: ClientHttp2Session;
      try {
        session = this.#open();
      } catch (err) {
        reject(new EtcdCallError(`${this.url}${path}: ${(err as Error).message}`, undefined, { cause: err }));
        return;
      }
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      body.copy(frame, 5);
      const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      let settled = false;
      const settle = (err: EtcdCallError | undefined, value?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err === undefined) resolve(value!); else { stream.close(); reject(err); }
      };
      const timer = setTimeout(() => settle(new EtcdCallError(`${this.url}${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
      const statusFrom = (h: Record<string, unknown>): void => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) message = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', statusFrom); // a trailers-only answer (an error) carries its status here
      stream.on('trailers', statusFrom);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => settle(new EtcdCallError(`${this.url}${path}: ${err.message}`, undefined, { cause: err })));
      stream.on('close', () => {
        if (status !== '0') {
          settle(new EtcdCallError(`${this.url}${path}: ${status === undefined ? 'closed without a gRPC status' : `gRPC status ${status} ${message}`}`,
            status === undefined ? undefined : Number(status)));
          return;
        }
        const data = Buffer.concat(chunks);
        if (data.length < 5) return settle(new EtcdCallError(`${this.url}${path}: an answer without a message`));
        settle(undefined, data.subarray(5, 5 + data.readUInt32BE(1)));
      });
      stream.end(frame);
    });
  }

  /** Put one key; resolves to the revision it got (committed on a quorum, fsynced there). */
  async put(key: string, value: Uint8Array, timeoutMs?: number): Promise<bigint> {
    return revisionOf(await this.call('/etcdserverpb.KV/Put', putRequest(key, value), timeoutMs));
  }

  /** Put many keys in one transaction (at most etcd's --max-txn-ops, 128 by default); resolves to its revision. */
  async putMany(entries: ReadonlyArray<readonly [string, Uint8Array]>): Promise<bigint> {
    // TxnRequest { compare = 1; success = 2 (RequestOp { request_put = 2 }); failure = 3 }
    const body = Buffer.concat(entries.map(([k, v]) => bytesField(2, bytesField(2, putRequest(k, v)))));
    return revisionOf(await this.call('/etcdserverpb.KV/Txn', body));
  }

  /** The revision this member has applied (a serializable read: answered by the member itself). */
  async revision(timeoutMs?: number): Promise<bigint> {
    // RangeRequest { key = 1; serializable = 7; count_only = 9 }
    return revisionOf(await this.call('/etcdserverpb.KV/Range', Buffer.concat([bytesField(1, Buffer.from('/')), intField(7, 1n), intField(9, 1n)]), timeoutMs));
  }

  /** This member's ID and the leader it knows (0n: none). */
  async status(timeoutMs?: number): Promise<{ memberId: bigint; leader: bigint }> {
    // StatusResponse { header = 1 (member_id = 2); version = 2; db_size = 3; leader = 4; ... }
    const f = decode(await this.call('/etcdserverpb.Maintenance/Status', Buffer.alloc(0), timeoutMs));
    return { memberId: intOf(msgOf(f, 1), 2), leader: intOf(f, 4) };
  }

  /** Close the connection (calls in flight fail). */
  close(): void {
    this.#session?.destroy();
    this.#session = undefined;
  }
}
