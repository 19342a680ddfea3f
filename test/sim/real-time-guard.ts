// While the simulation loop runs node code, every use of the real clock, timers or randomness is a
// hole in determinism: a real timer fires at a real instant between virtual events, a real Date is
// not the node's skewed clock, Math.random is not the seed. This guard wraps those globals (and the
// node:crypto / node:timers exports, kept in sync for ES module imports) while it is installed,
// counts each call by API and calling site with a stack sample, and says which module it came from.
// It never changes what the call returns: libraries outside node/ keep working (their uses are
// counted and reported as library uses). Optionally it throws when the caller is node code, so a
// simulation can insist that node/ is clean.

import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';
import timersPromises from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, relative, resolve } from 'node:path';

/** The project's root directory (test/sim/.. /..). */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const THIS_FILE = fileURLToPath(import.meta.url);
const THIS_URL = import.meta.url;
const PROJECT_URL = pathToFileURL(PROJECT_ROOT).href + '/';
/** Folders whose code must take clocks, timers and randomness from its components. */
export const NODE_CODE_DIRS_DEFAULT: readonly string[] = ['node/', 'storage/', 'membership/', 'quorum/'];
/**
 * Libraries only the simulator runs in a simulation (the simulated streams extend libp2p's
 * AbstractStream, which stamps its timeline with Date.now and bounds a close with AbortSignal.timeout;
 * neither reaches node code): their calls are the simulator's, not node code's.
 */
export const SIMULATOR_LIBRARIES_DEFAULT: readonly string[] = ['node_modules/@libp2p/utils/'];
/** Stack frames examined per call. */
const STACK_FRAMES_MAX = 16;
/** Innermost frames searched for the frames that identify a call site already analysed. */
const SITE_FRAMES = 8;
/** Call sites remembered. */
const SITES_MAX = 10_000;

// A call site as `file:line:column` of each frame from the innermost up to the first project module
// (structured call sites: nothing formatted), which determine the caller and the module the full
// analysis finds. Undefined when no project module is within SITE_FRAMES frames (analysed each time).
function siteKey(): string | undefined {
  const limit = Error.stackTraceLimit;
  const prepare = Error.prepareStackTrace;
  Error.stackTraceLimit = SITE_FRAMES;
  Error.prepareStackTrace = (_e, sites) => sites;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  Error.captureStackTrace(holder, siteKey);
  const sites = holder.stack ?? [];
  Error.prepareStackTrace = prepare;
  Error.stackTraceLimit = limit;
  let key = '';
  for (const c of sites) {
    const name = c.getFileName() ?? '?';
    key += `${name}:${c.getLineNumber() ?? 0}:${c.getColumnNumber() ?? 0}|`;
    if (name.startsWith(PROJECT_URL) && !name.includes('/node_modules/') && name !== THIS_URL) return key;
  }
  return undefined;
}

/** Options of the guard. */
export interface RealTimeGuardOptions {
  /** Throw (after counting) when the direct caller is node code (default false: count only). */
  throwInNodeCode?: boolean;
  /** Folders (project-relative, with a trailing slash) that count as node code (default NODE_CODE_DIRS_DEFAULT). */
  nodeCodeDirs?: readonly string[];
  /** Library paths whose calls are the simulator's (default SIMULATOR_LIBRARIES_DEFAULT). */
  simulatorLibraries?: readonly string[];
}

/** One API used from one site. */
export interface RealTimeUse {
  /** e.g. 'Date.now', 'setTimeout', 'Math.random'. */
  api: string;
  /** The direct caller, `path:line` (project-relative, or a package path under node_modules). */
  caller: string;
  /** The first project module (outside node_modules) on the stack: who asked, possibly through a library. */
  module: string;
  /** Whether the direct caller is node code (NODE_CODE_DIRS). */
  inNodeCode: boolean;
  /** Whether node code called the library that made the call (`module` is node code). */
  viaNodeCode: boolean;
  /** Whether the simulator made it: test/sim/ is the first project module, or the caller is a simulator library. */
  bySimulator: boolean;
  /** Calls. */
  count: number;
  /** One stack, for reading. */
  stack: string;
}

/** A real clock, timer or randomness call from node code while the guard throws; stable code SIM_REAL_TIME. */
export class RealTimeUseError extends Error {
  readonly code = 'SIM_REAL_TIME';
  override readonly name = 'RealTimeUseError';
}

interface Patch {
  target: Record<string, unknown>;
  key: string;
  original: unknown;
}

function frameFile(line: string): { file: string; where: string } | undefined {
  // "    at fn (file:///x/y.ts:12:3)" or "    at file:///x/y.ts:12:3" or "at async fn (/x/y.js:1:2)"
  const m = /\(?((?:file:\/\/|\/)[^():]+(?::[^():]+)*?):(\d+):\d+\)?\s*$/.exec(line);
  if (m === null) return undefined;
  const raw = m[1]!;
  const file = raw.startsWith('file://') ? fileURLToPath(raw) : raw;
  return { file, where: `${file}:${m[2]!}` };
}

function projectPath(file: string): string {
  const rel = relative(PROJECT_ROOT, file);
  return rel.startsWith('..') ? file : rel;
}

/** Counts (and optionally refuses) real clock, timer and randomness calls while installed. */
export class RealTimeGuard {
  readonly #throw: boolean;
  readonly #dirs: readonly string[];
  readonly #simLibs: readonly string[];
  readonly #uses = new Map<string, RealTimeUse>();
  // Call sites already analysed (siteKey), to the use they count toward.
  readonly #sites = new Map<string, RealTimeUse>();
  #patches: Patch[] = [];
  #depth = 0;
  #inside = false;

  constructor(options: RealTimeGuardOptions = {}) {
    this.#throw = options.throwInNodeCode === true;
    this.#dirs = options.nodeCodeDirs ?? NODE_CODE_DIRS_DEFAULT;
    this.#simLibs = options.simulatorLibraries ?? SIMULATOR_LIBRARIES_DEFAULT;
  }

  /** Wrap the globals (nested installs are counted; the last uninstall restores them). */
  install(): void {
    this.#depth += 1;
    if (this.#depth > 1) return;
    const wrapFn = (target: object, key: string, api: string): void => {
      const t = target as Record<string, unknown>;
      const original = t[key];
      if (typeof original !== 'function') return;
      const f = original as (...args: unknown[]) => unknown;
      const guard = this;
      const wrapped = function (this: unknown, ...args: unknown[]): unknown {
        guard.#seen(api);
        return f.apply(this, args);
      };
      for (const sym of Object.getOwnPropertySymbols(original)) {
        const d = Object.getOwnPropertyDescriptor(original, sym);
        if (d !== undefined) Object.defineProperty(wrapped, sym, d);
      }
      this.#patches.push({ target: t, key, original });
      t[key] = wrapped;
    };
    wrapFn(globalThis, 'setTimeout', 'setTimeout');
    wrapFn(globalThis, 'setInterval', 'setInterval');
    wrapFn(timers, 'setTimeout', 'setTimeout');
    wrapFn(timers, 'setInterval', 'setInterval');
    wrapFn(timersPromises, 'setTimeout', 'timers/promises.setTimeout');
    wrapFn(timersPromises, 'setInterval', 'timers/promises.setInterval');
    wrapFn(Date, 'now', 'Date.now');
    wrapFn(performance, 'now', 'performance.now');
    wrapFn(Math, 'random', 'Math.random');
    wrapFn(AbortSignal, 'timeout', 'AbortSignal.timeout');
    wrapFn(process, 'hrtime', 'process.hrtime');
    wrapFn(process.hrtime, 'bigint', 'process.hrtime.bigint');
    wrapFn(crypto, 'randomBytes', 'crypto.randomBytes');
    wrapFn(crypto, 'randomUUID', 'crypto.randomUUID');
    wrapFn(crypto, 'randomInt', 'crypto.randomInt');
    wrapFn(globalThis.crypto, 'getRandomValues', 'crypto.getRandomValues');
    wrapFn(globalThis.crypto, 'randomUUID', 'crypto.randomUUID');
    // `new Date()` and `Date()` without arguments read the clock too.
    const OriginalDate = Date;
    const guard = this;
    const GuardedDate: DateConstructor = new Proxy(OriginalDate, {
      construct(target, args, newTarget): object {
        if (args.length === 0) guard.#seen('new Date()');
        return Reflect.construct(target, args, newTarget === GuardedDate ? target : newTarget) as object;
      },
      apply(target, thisArg, args): unknown {
        guard.#seen('Date()');
        return Reflect.apply(target, thisArg, args) as unknown;
      },
    });
    this.#patches.push({ target: globalThis as unknown as Record<string, unknown>, key: 'Date', original: OriginalDate });
    (globalThis as unknown as Record<string, unknown>).Date = GuardedDate;
    syncBuiltinESMExports();
  }

  /** Undo one install; the last restores every original. */
  uninstall(): void {
    if (this.#depth === 0) return;
    this.#depth -= 1;
    if (this.#depth > 0) return;
    for (const p of this.#patches.reverse()) p.target[p.key] = p.original;
    this.#patches = [];
    syncBuiltinESMExports();
  }

  /** Whether it is installed now. */
  get installed(): boolean {
    return this.#depth > 0;
  }

  /** Every use so far, most frequent first. */
  report(): RealTimeUse[] {
    return [...this.#uses.values()].sort((a, b) => b.count - a.count || (a.api + a.caller < b.api + b.caller ? -1 : 1));
  }

  /** Uses whose direct caller is node code. */
  nodeCodeUses(): RealTimeUse[] {
    return this.report().filter((u) => u.inNodeCode);
  }

  /** The report as text lines. */
  format(): string {
    return this.report().map((u) =>
      `${u.count}x ${u.api} at ${u.caller}${u.caller === u.module ? '' : ` (from ${u.module})`}${u.inNodeCode ? '  [node code]' : u.viaNodeCode ? '  [via a library, from node code]' : u.bySimulator ? '  [simulator]' : ''}`).join('\n');
  }

  /** Forget the counts. */
  reset(): void {
    this.#uses.clear();
    this.#sites.clear();
  }

  #seen(api: string): void {
    if (this.#inside) return; // our own stack capture may read the clock
    this.#inside = true;
    let err: RealTimeUseError | undefined;
    try {
      // The common case is a site seen before: known by its few innermost frames, without formatting
      // or parsing a whole stack (a simulated run makes tens of thousands of these calls).
      const innermost = siteKey();
      const site = innermost === undefined ? undefined : `${api}@${innermost}`;
      const known = site === undefined ? undefined : this.#sites.get(site);
      if (known !== undefined) {
        known.count += 1;
        if (known.inNodeCode && this.#throw) err = new RealTimeUseError(`${api} called from node code at ${known.caller}: take it from the node's components`);
        return;
      }
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = STACK_FRAMES_MAX;
      const holder: { stack?: string } = {};
      Error.captureStackTrace(holder);
      Error.stackTraceLimit = limit;
      const lines = (holder.stack ?? '').split('\n').slice(1);
      let caller: string | undefined;
      let callerFile: string | undefined;
      let module: string | undefined;
      let moduleFile: string | undefined;
      const frames: string[] = [];
      for (const line of lines) {
        const f = frameFile(line);
        if (f === undefined || f.file === THIS_FILE) continue;
        frames.push(line.trim());
        const rel = projectPath(f.file);
        if (caller === undefined) {
          caller = `${projectPath(f.file)}:${f.where.slice(f.file.length + 1)}`;
          callerFile = rel;
        }
        if (module === undefined && !rel.includes('node_modules/') && !rel.startsWith('/')) {
          module = `${rel}:${f.where.slice(f.file.length + 1)}`;
          moduleFile = rel;
        }
      }
      caller ??= '(native)';
      const inNodeCode = callerFile !== undefined && this.#isNodeCode(callerFile);
      const bySimLib = callerFile !== undefined && this.#simLibs.some((l) => callerFile.includes(l));
      const viaNodeCode = !bySimLib && moduleFile !== undefined && this.#isNodeCode(moduleFile);
      const bySimulator = bySimLib || (moduleFile !== undefined && moduleFile.startsWith('test/sim/'));
      const key = `${api}@${caller}`;
      let u = this.#uses.get(key);
      if (u === undefined) {
        u = { api, caller, module: module ?? caller, inNodeCode, viaNodeCode, bySimulator, count: 1, stack: frames.join('\n') };
        this.#uses.set(key, u);
      } else {
        u.count += 1;
      }
      if (site !== undefined && this.#sites.size < SITES_MAX) this.#sites.set(site, u);
      if (inNodeCode && this.#throw) err = new RealTimeUseError(`${api} called from node code at ${caller}: take it from the node's components`);
    } finally {
      this.#inside = false;
    }
    if (err !== undefined) throw err;
  }

  #isNodeCode(rel: string): boolean {
    return this.#dirs.some((d) => rel.startsWith(d));
  }
}
