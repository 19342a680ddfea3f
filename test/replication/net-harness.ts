// An in-memory network of replicators for tests: each open() is an it-pair duplex delivered to the
// target's handler; links can be cut (both directions) and restored, which ends open streams at once
// and tells both sides the peer is down, as membership would.
import { duplexPair } from 'it-pair/duplex';
import type { Duplex, Source } from 'it-stream-types';
import { join } from 'node:path';
import { Store, type StoreOptions, type StrategyName } from '../../storage/index.ts';
import { Replicator, type PeerLinks, type ReplicatorOptions } from '../../node/replication/replicator.ts';
import { systemWallClock } from '../../node/util/clock.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

async function* untilAborted<T>(source: Source<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  const aborted = new Promise<IteratorResult<T>>((r) => signal.addEventListener('abort', () => r({ done: true, value: undefined }), { once: true }));
  while (true) {
    const next = await Promise.race([it.next(), aborted]);
    if (next.done === true || signal.aborted) return;
    yield next.value;
  }
}

function cuttable(d: Duplex<any, any, any>, signal: AbortSignal): Duplex<any, any, any> {
  return { source: untilAborted(d.source, signal), sink: (src: Source<any>) => d.sink(untilAborted(src, signal)) };
}

export interface NetNode {
  name: string;
  store: Store;
  replicator: Replicator;
}

export const FAST: Omit<ReplicatorOptions, 'self' | 'controllers'> = {
  pushEnabled: true, batchSize: 100, compression: false, syncTimeoutMs: 3000, pushWindowMax: 4, pushQueueMax: 10_000,
  antiEntropyEnabled: false, antiEntropyIntervalMs: 60_000, antiEntropyBatchSize: 100, repairMode: 'bidirectional',
  frameBytesMax: 8 << 20, retryMs: 20, wallClock: systemWallClock, timers: TEST_TIMERS,
};

export class TestNet {
  readonly nodes = new Map<string, NetNode>();
  readonly #cuts = new Map<string, AbortController>();
  readonly #cutSet = new Set<string>();
  readonly #dir: string;
  readonly bytes = { total: 0 };

  constructor(dir: string) {
    this.#dir = dir;
  }

  static pairKey(a: string, b: string): string {
    return [a, b].sort().join('|');
  }

  #signal(a: string, b: string): AbortSignal {
    const k = TestNet.pairKey(a, b);
    let c = this.#cuts.get(k);
    // restore() drops the pair's controller, so a cut pair's streams end and a restored pair starts fresh.
    if (c === undefined) {
      c = new AbortController();
      this.#cuts.set(k, c);
    }
    return c.signal;
  }

  isCut(a: string, b: string): boolean {
    return this.#cutSet.has(TestNet.pairKey(a, b));
  }

  async add(name: string, controllers: string[], strategy: StrategyName = 'LastWriterWins', opts: Partial<ReplicatorOptions> = {},
    storeOpts: Partial<StoreOptions> = {}): Promise<NetNode> {
    const store = await Store.open({ ...storeOpts, path: join(this.#dir, name), member: name, strategy });
    const links: PeerLinks = {
      open: async (member, protocol) => {
        const target = this.nodes.get(member);
        if (target === undefined || this.isCut(name, member)) throw new Error(`no link ${name} -> ${member}`);
        const signal = this.#signal(name, member);
        const [a, b] = duplexPair<any>();
        const mine = cuttable(a, signal);
        const theirs = cuttable(b, signal);
        const serve = protocol === 'push' ? target.replicator.handlePush(theirs, name) : target.replicator.handleAntiEntropy(theirs, name, true);
        serve.catch(() => undefined);
        return { duplex: mine, close: async () => {} };
      },
    };
    const replicator = new Replicator(store, links, { ...FAST, ...opts, self: name, controllers });
    const node = { name, store, replicator };
    this.nodes.set(name, node);
    replicator.start();
    return node;
  }

  /** Bring every uncut pair up (as membership would on connect). */
  connectAll(): void {
    for (const a of this.nodes.values()) for (const b of this.nodes.values()) {
      if (a !== b && !this.isCut(a.name, b.name)) a.replicator.peerUp(b.name);
    }
  }

  cut(a: string, b: string): void {
    this.#cutSet.add(TestNet.pairKey(a, b));
    this.#cuts.get(TestNet.pairKey(a, b))?.abort();
    this.nodes.get(a)?.replicator.peerDown(b);
    this.nodes.get(b)?.replicator.peerDown(a);
  }

  restore(a: string, b: string): void {
    this.#cutSet.delete(TestNet.pairKey(a, b));
    this.#cuts.delete(TestNet.pairKey(a, b));
    this.nodes.get(a)?.replicator.peerUp(b);
    this.nodes.get(b)?.replicator.peerUp(a);
  }

  async remove(name: string): Promise<void> {
    const n = this.nodes.get(name);
    if (n === undefined) return;
    for (const other of this.nodes.keys()) if (other !== name) this.cut(name, other);
    await n.replicator.stop();
    await n.store.close();
    this.nodes.delete(name);
  }

  async close(): Promise<void> {
    for (const name of [...this.nodes.keys()]) await this.remove(name);
  }
}

/** Poll `check` until it returns true or the deadline passes (no fixed sleeps). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - start;
}
