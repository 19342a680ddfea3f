// Runs scenario commands against a SimDriver and renders what happened. The language:
//
//   cluster controllers=a,b,c agents=x,y seed=1 [strategy=LastWriterWins|Merge|Manual]
//           [mode=Controllers|AgentAssisted] [joiners=d] [key=value ...: passed to the driver]
//   remove c on=a                          ask a to remove controller c (members remove)
//   add d on=a                             start joiner d (spec.bootstrap alone) and ask a to add it (members add)
//   partition a | b c [mode=drop|reject]   nodes on different sides stop reaching each other, both ways
//   partition a -> b c [mode=...]          one way: nothing a sends reaches b or c
//   heal [a b]                             remove every cut, or those between a and b
//   reset a b | silent a b | halfopen a b  what happens to the connections between a and b (driver.ts)
//   net [a b] delay=1ms-20ms drop=1% dup=1% reorder=5%   message conditions of a link (or all links)
//   pause a.. | resume a.. | crash a.. | restart a..
//   skew a +8s                             a's wall clock 8 s ahead of true time (skew a 0 undoes it)
//   jump a -2s                             a's wall clock steps by -2 s from where it is
//   drift a 200                            a's clock rate off by 200 ppm
//   impostor m claims b                    an attacker host m: a fresh key, a valid CA-issued certificate for member b
//   tick 3s                                let 3 virtual seconds pass
//   write a Kind/ns/name spec.v=1 [quorum|local] [nowait] [within=30s]   (input lines: a JSON resource instead)
//   delete a Kind/ns/name [quorum] [nowait] [within=..]
//   resolve a Kind/ns/name keep=local|remote [quorum] [nowait] [within=..]
//   read b Kind/ns/name [within=..]
//   wait op 4 | fenced a | accepting a | phase a Healthy | follows x b | state x Autonomous   [within=60s]
//   status a.. | fence a..
//   events on|off|all                      which events print after each command (default on: fences, agents)
//   check converged [within=60s]           run until every running node has one Merkle root
//   check safety [checker..] [splitBrainMs=3s ...]   finish the history, run the checkers
//
// Output: the events the command's virtual time produced (`> 12.345s a: fenced NO_QUORUM ...`), then
// the command's own lines; `ok` when there is nothing else to say. A command the language does not
// allow throws ScriptError; what the federation answers (FENCED, QUORUM_UNAVAILABLE, ...) is output.
import type { Json } from '../../../storage/logic/canonical.ts';
import type { Resource } from '../../../storage/logic/resource.ts';
import { STRATEGY_NAMES, type StrategyName } from '../../../storage/logic/rules/conflict-rule.ts';
import { QUORUM_MODES, type QuorumMode } from '../../../quorum/index.ts';
import { fmtMs, type Durability, type ReadOutcome, type WriteOutcome } from '../check/history.ts';
import { BOUND_NAMES, CHECKER_NAMES, checkHistory, formatViolation, type CheckBounds, type CheckerName } from '../check/index.ts';
import { assignPath, parseDuration, parseRate, parseValue, ScriptError, splitArgs, tokenize } from './args.ts';
import type { Block } from './datadriven.ts';
import type { CutMode, LinkConditions, Pending, SimDriver } from './driver.ts';
import {
  fmtFence, fmtFenceEvent, fmtFollowEvent, fmtPhaseEvent, fmtReadOutcome, fmtStatus, fmtWriteOutcome,
} from './render.ts';
import { removedControllers } from '../check/removals.ts';

/** Default virtual time a client operation may take before it is left pending. */
export const OP_WITHIN_MS_DEFAULT = 30_000;
/** Default virtual time `wait` and `check converged` run before giving up. */
export const WAIT_WITHIN_MS_DEFAULT = 60_000;
/** Default resource apiVersion of `write`. */
export const API_VERSION_DEFAULT = 'v1';
/** Longest step of a `tick` (the driver samples Merkle roots after each), ms: a sweep's quiet-period step. */
const TICK_STEP_MS = 250;

type EventMode = 'off' | 'on' | 'all';

type InFlight = { kind: 'write'; pending: Pending<WriteOutcome> } | { kind: 'read'; pending: Pending<ReadOutcome> };

/** Interprets the commands of one scenario against one driver. */
export class ScenarioInterpreter {
  readonly #driver: SimDriver;
  #started = false;
  #events: EventMode = 'on';
  #cursor = { fences: 0, follows: 0, phases: 0 };
  readonly #ops = new Map<number, InFlight>();
  #cause = '';

  constructor(driver: SimDriver) {
    this.#driver = driver;
  }

  /** Run one block; resolves with its output. */
  async run(b: Pick<Block, 'command' | 'input'>): Promise<string> {
    this.#cause = b.command;
    const [cmd, ...args] = tokenize(b.command);
    if (cmd === undefined) throw new ScriptError('empty command');
    if (cmd !== 'cluster' && !this.#started) throw new ScriptError(`"${cmd}" before "cluster": start the scenario with a cluster command`);
    const lines = await this.#dispatch(cmd, args, b.input);
    const events = this.#drainEvents();
    const out = [...events, ...lines];
    return out.length === 0 ? 'ok' : out.join('\n');
  }

  async #dispatch(cmd: string, args: string[], input: string): Promise<string[]> {
    const d = this.#driver;
    switch (cmd) {
      case 'cluster': return this.#cluster(args);
      case 'partition': return this.#partition(args);
      case 'heal': {
        const { words } = this.#exact(args, [], 'heal [a b]');
        if (words.length === 0) await d.heal(undefined, this.#cause);
        else if (words.length === 2) await d.heal([[this.#node(words[0]!), this.#node(words[1]!)]], this.#cause);
        else throw new ScriptError('heal takes no node or two: heal a b');
        return [];
      }
      case 'reset': case 'silent': case 'halfopen': {
        const [a, b] = this.#pair(cmd, args);
        if (cmd === 'reset') await d.reset(a, b);
        else if (cmd === 'silent') await d.silence(a, b);
        else await d.halfOpen(a, b);
        return [];
      }
      case 'net': return this.#net(args);
      case 'pause': case 'resume': case 'crash': case 'restart': {
        const { words } = this.#exact(args, [], `${cmd} a [b ...]`);
        if (words.length === 0) throw new ScriptError(`${cmd} needs a node`);
        for (const n of words.map((w) => this.#node(w))) await d[cmd](n, this.#cause);
        return [];
      }
      case 'skew': case 'jump': {
        const { words } = this.#exact(args, [], `${cmd} a +8s`);
        if (words.length !== 2) throw new ScriptError(`${cmd} takes a node and a duration: ${cmd} a +8s`);
        const node = this.#node(words[0]!);
        const ms = parseDuration(words[1]!, `${cmd} offset`);
        await d.setSkew(node, cmd === 'skew' ? ms : d.skewOf(node) + ms);
        return [];
      }
      case 'drift': {
        const { words } = this.#exact(args, [], 'drift a 200');
        const ppm = Number(words[1]);
        if (words.length !== 2 || !Number.isFinite(ppm)) throw new ScriptError('drift takes a node and parts per million: drift a 200');
        await d.setDrift(this.#node(words[0]!), ppm);
        return [];
      }
      case 'impostor': {
        const { words } = this.#exact(args, [], 'impostor m claims b');
        if (words.length !== 3 || words[1] !== 'claims') throw new ScriptError('usage: impostor m claims b');
        const [name, , claims] = words as [string, string, string];
        const { controllers, agents } = d.nodes();
        if ([...controllers, ...agents].includes(name)) throw new ScriptError(`impostor: "${name}" is a member's name; an impostor is a host of its own`);
        if (d.impostor === undefined) throw new ScriptError('impostor: this driver has no attackers');
        await d.impostor(name, this.#node(claims), this.#cause);
        return [];
      }
      case 'tick': {
        const { words } = this.#exact(args, [], 'tick 3s');
        if (words.length !== 1) throw new ScriptError('tick takes one duration: tick 3s');
        const ms = parseDuration(words[0]!, 'tick');
        if (ms < 0) throw new ScriptError('tick cannot go back in time');
        // In steps, as a sweep's quiet period: the driver samples Merkle roots after each, and
        // convergence is judged from the samples (one at the end of a long tick would make roots
        // equal a moment after it began look unequal until its end).
        for (let left = ms; left > 0; left -= TICK_STEP_MS) await d.tick(Math.min(TICK_STEP_MS, left));
        return [];
      }
      case 'write': case 'delete': case 'resolve': return this.#write(cmd, args, input);
      case 'read': {
        const { words, opts } = this.#exact(args, ['within'], 'read b Kind/ns/name');
        if (words.length !== 2) throw new ScriptError('read takes a node and a key: read b ProxyRoute/default/k');
        const p = d.read(this.#node(words[0]!), checkKey(words[1]!));
        this.#ops.set(p.id, { kind: 'read', pending: p });
        await d.runUntil(() => p.outcome() !== undefined, within(opts, OP_WITHIN_MS_DEFAULT));
        return [fmtReadOutcome(p.outcome(), p.id, d.wallBaseMs())];
      }
      case 'remove': {
        // remove c on=a: ask a to remove controller c (drained when connected, forced when not).
        const { words, opts } = this.#exact(args, ['on', 'within'], 'remove c on=a');
        const on = opts.get('on');
        if (words.length !== 1 || on === undefined) throw new ScriptError('usage: remove c on=a');
        if (d.removeController === undefined) throw new ScriptError('remove: this driver has no live membership');
        const p = d.removeController(this.#controller(on), this.#controller(words[0]!));
        await d.runUntil(() => p.outcome() !== undefined, within(opts, OP_WITHIN_MS_DEFAULT));
        const o = p.outcome();
        return [o === undefined || o.status === 'pending' ? `pending (op ${p.id})` : o.status === 'ok' ? `ok epoch=${o.epoch}` : o.code];
      }
      case 'add': {
        // add d on=a: start joiner d if it is not running, and ask a to add it.
        const { words, opts } = this.#exact(args, ['on', 'within'], 'add d on=a');
        const on = opts.get('on');
        if (words.length !== 1 || on === undefined) throw new ScriptError('usage: add d on=a');
        if (d.addController === undefined) throw new ScriptError('add: this driver has no live membership');
        const p = d.addController(this.#controller(on), words[0]!);
        await d.runUntil(() => p.outcome() !== undefined, within(opts, OP_WITHIN_MS_DEFAULT));
        const o = p.outcome();
        return [o === undefined || o.status === 'pending' ? `pending (op ${p.id})` : o.status === 'ok' ? `ok epoch=${o.epoch}` : o.code];
      }
      case 'wait': return this.#wait(args);
      case 'status': case 'fence': {
        const { words } = this.#exact(args, [], `${cmd} a [b ...]`);
        const nodes = words.length === 0 ? [...d.nodes().controllers, ...(cmd === 'status' ? d.nodes().agents : [])] : words.map((w) => this.#node(w));
        return nodes.map((n) => (cmd === 'status' ? fmtStatus(d.status(n)) : fmtFence(d.status(n))));
      }
      case 'events': {
        const mode = args[0];
        if (args.length !== 1 || (mode !== 'on' && mode !== 'off' && mode !== 'all')) throw new ScriptError('events on|off|all');
        this.#events = mode;
        return [];
      }
      case 'check': return this.#check(args);
      default: throw new ScriptError(`unknown command "${cmd}"`);
    }
  }

  async #cluster(args: string[]): Promise<string[]> {
    if (this.#started) throw new ScriptError('the cluster is already started');
    const { words, opts } = splitArgs(args);
    if (words.length > 0) throw new ScriptError(`cluster takes key=value options only, not "${words.join(' ')}"`);
    const list = (k: string): string[] => (opts.get(k) ?? '').split(',').filter((s) => s !== '');
    const controllers = list('controllers');
    const agents = list('agents');
    if (controllers.length === 0) throw new ScriptError('cluster needs controllers=a,b,...');
    const joiners = list('joiners');
    const all = [...controllers, ...agents, ...joiners];
    if (new Set(all).size !== all.length) throw new ScriptError('cluster: node names must differ');
    const seed = Number(opts.get('seed') ?? '1');
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ScriptError(`cluster: seed "${opts.get('seed')}" is not a whole number`);
    const strategy = (opts.get('strategy') ?? 'LastWriterWins') as StrategyName;
    if (!STRATEGY_NAMES.includes(strategy)) throw new ScriptError(`cluster: strategy must be one of ${STRATEGY_NAMES.join(', ')}`);
    const quorumMode = (opts.get('mode') ?? 'Controllers') as QuorumMode;
    if (!(QUORUM_MODES as readonly string[]).includes(quorumMode)) throw new ScriptError(`cluster: mode must be one of ${QUORUM_MODES.join(', ')}`);
    const options: Record<string, string> = {};
    for (const [k, v] of opts) if (!['controllers', 'agents', 'joiners', 'seed', 'strategy', 'mode'].includes(k)) options[k] = v;
    await this.#driver.start({ controllers, agents, seed, strategy, quorumMode, options, ...(joiners.length === 0 ? {} : { joiners }) });
    this.#started = true;
    const h = this.#driver.history();
    this.#cursor = { fences: h.fences.length, follows: h.follows.length, phases: h.phases.length };
    return [];
  }

  async #partition(args: string[]): Promise<string[]> {
    const { words, opts } = this.#exact(args, ['mode'], 'partition a | b c');
    const mode = (opts.get('mode') ?? 'drop') as CutMode;
    if (mode !== 'drop' && mode !== 'reject') throw new ScriptError('partition mode is drop or reject');
    const arrow = words.indexOf('->');
    if (arrow >= 0) {
      const from = words.slice(0, arrow).map((w) => this.#node(w));
      const to = words.slice(arrow + 1).map((w) => this.#node(w));
      if (from.length === 0 || to.length === 0 || to.includes('->')) throw new ScriptError('partition a -> b c: nodes on both sides of one ->');
      for (const f of from) for (const t of to) if (f !== t) await this.#driver.cut(f, t, mode, this.#cause);
      return [];
    }
    const sides: string[][] = [[]];
    for (const w of words) {
      if (w === '|') sides.push([]);
      else sides[sides.length - 1]!.push(this.#node(w));
    }
    if (sides.length < 2 || sides.some((s) => s.length === 0)) throw new ScriptError('partition a | b c: at least two non-empty sides');
    const seen = sides.flat();
    if (new Set(seen).size !== seen.length) throw new ScriptError('partition: a node on two sides');
    for (let i = 0; i < sides.length; i++) {
      for (let j = 0; j < sides.length; j++) {
        if (i === j) continue;
        for (const f of sides[i]!) for (const t of sides[j]!) await this.#driver.cut(f, t, mode, this.#cause);
      }
    }
    return [];
  }

  async #net(args: string[]): Promise<string[]> {
    const { words, opts } = this.#exact(args, ['delay', 'drop', 'dup', 'reorder'], 'net [a b] delay=1ms-20ms drop=1% dup=1% reorder=5%');
    if (words.length !== 0 && words.length !== 2) throw new ScriptError('net takes no node (every link) or two');
    const c: LinkConditions = {};
    const delay = opts.get('delay');
    if (delay !== undefined) {
      const m = /^([^-]+)(?:-(.+))?$/.exec(delay);
      const lo = parseDuration(m?.[1] ?? delay, 'delay');
      const hi = m?.[2] === undefined ? lo : parseDuration(m[2], 'delay');
      if (lo < 0 || hi < lo) throw new ScriptError(`delay "${delay}" is not a range like 1ms-20ms`);
      c.delayMinMs = lo;
      c.delayMaxMs = hi;
    }
    if (opts.has('drop')) c.dropRate = parseRate(opts.get('drop')!, 'drop');
    if (opts.has('dup')) c.duplicateRate = parseRate(opts.get('dup')!, 'dup');
    if (opts.has('reorder')) c.reorderRate = parseRate(opts.get('reorder')!, 'reorder');
    const [a, b] = words.length === 2 ? [this.#node(words[0]!), this.#node(words[1]!)] : [undefined, undefined];
    await this.#driver.setLink(a, b, c);
    return [];
  }

  async #write(cmd: 'write' | 'delete' | 'resolve', args: string[], input: string): Promise<string[]> {
    const d = this.#driver;
    const { words, opts } = splitArgs(args);
    const flags = new Set(words.slice(2));
    for (const f of flags) if (!['quorum', 'local', 'nowait'].includes(f)) throw new ScriptError(`${cmd}: unknown flag "${f}"`);
    if (words.length < 2) throw new ScriptError(`${cmd} takes a node and a key: ${cmd} a ProxyRoute/default/k`);
    if (flags.has('quorum') && flags.has('local')) throw new ScriptError(`${cmd}: quorum or local, not both`);
    const node = this.#node(words[0]!);
    const key = checkKey(words[1]!);
    const durability: Durability = flags.has('quorum') ? 'quorum' : 'local';
    const withinMs = within(opts, OP_WITHIN_MS_DEFAULT);
    opts.delete('within');
    let p: Pending<WriteOutcome>;
    if (cmd === 'write') {
      p = d.apply(node, buildResource(key, opts, input), durability);
    } else if (cmd === 'delete') {
      if (opts.size > 0) throw new ScriptError(`delete: unknown options ${[...opts.keys()].join(', ')}`);
      p = d.delete(node, key, durability);
    } else {
      const keep = opts.get('keep');
      if (keep !== 'local' && keep !== 'remote') throw new ScriptError('resolve needs keep=local or keep=remote');
      opts.delete('keep');
      if (opts.size > 0) throw new ScriptError(`resolve: unknown options ${[...opts.keys()].join(', ')}`);
      p = d.resolve(node, key, keep, durability);
    }
    this.#ops.set(p.id, { kind: 'write', pending: p });
    if (flags.has('nowait')) return [`started op ${p.id}`];
    await d.runUntil(() => p.outcome() !== undefined, withinMs);
    return [fmtWriteOutcome(p.outcome(), p.id, d.wallBaseMs())];
  }

  async #wait(args: string[]): Promise<string[]> {
    const d = this.#driver;
    const { words, opts } = this.#exact(args, ['within'], 'wait fenced a');
    const withinMs = within(opts, WAIT_WITHIN_MS_DEFAULT);
    const [what, a, b] = words;
    let cond: () => boolean;
    let show: () => string;
    const need = (n: number, usage: string): void => { if (words.length !== n) throw new ScriptError(`usage: wait ${usage}`); };
    switch (what) {
      case 'op': {
        need(2, 'op 4');
        const op = this.#ops.get(Number(a));
        if (op === undefined) throw new ScriptError(`no operation ${a} was started by this script`);
        cond = () => op.pending.outcome() !== undefined;
        show = () => (op.kind === 'write'
          ? fmtWriteOutcome(op.pending.outcome(), op.pending.id, d.wallBaseMs())
          : fmtReadOutcome(op.pending.outcome(), op.pending.id, d.wallBaseMs()));
        break;
      }
      case 'fenced': case 'accepting': {
        need(2, `${what} a`);
        const n = this.#controller(a!);
        cond = () => { const s = d.status(n); return s.running && s.role === 'controller' && s.status.quorum.writesFenced === (what === 'fenced'); };
        show = () => fmtFence(d.status(n));
        break;
      }
      case 'phase': {
        need(3, 'phase a Healthy');
        const n = this.#controller(a!);
        cond = () => { const s = d.status(n); return s.running && s.role === 'controller' && s.status.quorum.phase === b; };
        show = () => fmtStatus(d.status(n)).split('\n')[0]!;
        break;
      }
      case 'follows': case 'state': {
        need(3, what === 'follows' ? 'follows x b' : 'state x Connected');
        const n = this.#agent(a!);
        if (what === 'follows') this.#controller(b!);
        cond = () => {
          const s = d.status(n);
          if (!s.running || s.role !== 'agent') return false;
          return what === 'follows' ? s.status.state === 'Connected' && s.status.controller === b : s.status.state === b;
        };
        show = () => fmtStatus(d.status(n)).split('\n')[0]!;
        break;
      }
      default: throw new ScriptError('wait op N | fenced a | accepting a | phase a P | follows x a | state x S');
    }
    const start = d.nowMs();
    const ok = await d.runUntil(cond, withinMs);
    const took = fmtMs(d.nowMs() - start);
    return ok ? [`ok after ${took}`, ...(what === 'op' ? [show()] : [])] : [`timed out after ${took}: ${show()}`];
  }

  async #check(args: string[]): Promise<string[]> {
    const d = this.#driver;
    const [what, ...rest] = args;
    if (what === 'converged') {
      const { opts } = this.#exact(rest, ['within'], 'check converged [within=60s]');
      const start = d.nowMs();
      // Controllers removed from the federation are out of it (check/removals.ts); a removed one is shown apart.
      const gone = removedControllers(d.history());
      const members = (): Record<string, string> => Object.fromEntries(Object.entries(d.merkleRoots()).filter(([n]) => !gone.has(n)));
      const equal = (): boolean => new Set(Object.values(members())).size <= 1;
      const ok = await d.runUntil(equal, within(opts, WAIT_WITHIN_MS_DEFAULT));
      const took = fmtMs(d.nowMs() - start);
      const roots = members();
      const apart = gone.size === 0 ? '' : ` (removed: ${[...gone].sort().join(', ')})`;
      if (ok) return [`converged after ${took}: ${Object.keys(roots).length} nodes${apart}`];
      const groups = new Map<string, string[]>();
      for (const [n, r] of Object.entries(roots).sort(([x], [y]) => (x < y ? -1 : 1))) groups.set(r, [...(groups.get(r) ?? []), n]);
      return [`NOT converged after ${took}: ${[...groups].map(([r, ns]) => `${ns.join(',')}=${r.slice(0, 8)}`).join(' ')}`];
    }
    if (what === 'safety') {
      const { words, opts } = splitArgs(rest);
      const names = words.length === 0 ? CHECKER_NAMES : words.map((w) => {
        if (!(CHECKER_NAMES as readonly string[]).includes(w)) throw new ScriptError(`unknown checker "${w}" (${CHECKER_NAMES.join(', ')})`);
        return w as CheckerName;
      });
      const bounds: CheckBounds = { ...d.bounds() };
      for (const [k, v] of opts) {
        if (!(BOUND_NAMES as readonly string[]).includes(k)) throw new ScriptError(`unknown bound "${k}" (${BOUND_NAMES.join(', ')})`);
        bounds[k as keyof CheckBounds] = parseDuration(v, k);
      }
      const h = await d.finish();
      const vs = checkHistory(h, bounds, names);
      const counts = new Map<string, number>();
      for (const w of h.writes) {
        const k = w.outcome.status === 'ok' ? `ok ${w.durability}` : w.outcome.status === 'error' ? w.outcome.code : 'pending';
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const summary = [...counts].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, n]) => `${n} ${k}`).join(', ');
      return [
        vs.length === 0 ? 'ok' : `${vs.length} violation${vs.length === 1 ? '' : 's'}`,
        `writes: ${summary === '' ? 'none' : summary}`,
        ...vs.map(formatViolation),
      ];
    }
    throw new ScriptError('check converged | check safety');
  }

  // Events recorded since the last command, in time order, as the mode says.
  #drainEvents(): string[] {
    if (!this.#started) return [];
    const h = this.#driver.history();
    const c = this.#cursor;
    const lines: Array<[number, string]> = [];
    if (this.#events !== 'off') {
      for (const e of h.fences.slice(c.fences)) lines.push([e.atMs, fmtFenceEvent(e)]);
      for (const e of h.follows.slice(c.follows)) lines.push([e.atMs, fmtFollowEvent(e)]);
      if (this.#events === 'all') for (const e of h.phases.slice(c.phases)) lines.push([e.atMs, fmtPhaseEvent(e)]);
    }
    this.#cursor = { fences: h.fences.length, follows: h.follows.length, phases: h.phases.length };
    // Stable: by time, then in the order recorded within one kind (fences, then agents, then phases).
    return lines.map((l, i) => [l, i] as const).sort(([a, i], [b, j]) => a[0] - b[0] || i - j).map(([l]) => l[1]);
  }

  #exact(args: string[], allowed: string[], usage: string): { words: string[]; opts: Map<string, string> } {
    const r = splitArgs(args);
    for (const k of r.opts.keys()) if (!allowed.includes(k)) throw new ScriptError(`unknown option "${k}" (usage: ${usage})`);
    return r;
  }

  #pair(cmd: string, args: string[]): [string, string] {
    const { words } = this.#exact(args, [], `${cmd} a b`);
    if (words.length !== 2 || words[0] === words[1]) throw new ScriptError(`${cmd} takes two different nodes: ${cmd} a b`);
    return [this.#node(words[0]!), this.#node(words[1]!)];
  }

  #node(name: string): string {
    const { controllers, agents } = this.#driver.nodes();
    if (!controllers.includes(name) && !agents.includes(name)) throw new ScriptError(`unknown node "${name}" (${[...controllers, ...agents].join(', ')})`);
    return name;
  }

  #controller(name: string): string {
    if (!this.#driver.nodes().controllers.includes(name)) throw new ScriptError(`"${name}" is not a controller`);
    return name;
  }

  #agent(name: string): string {
    if (!this.#driver.nodes().agents.includes(name)) throw new ScriptError(`"${name}" is not an agent`);
    return name;
  }
}

function within(opts: Map<string, string>, dflt: number): number {
  const w = opts.get('within');
  if (w === undefined) return dflt;
  const ms = parseDuration(w, 'within');
  if (ms <= 0) throw new ScriptError('within must be positive');
  return ms;
}

function checkKey(key: string): string {
  const parts = key.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) throw new ScriptError(`key "${key}" is not Kind/namespace/name`);
  return key;
}

/** The resource `write` sends: the input's JSON object, else apiVersion/kind/metadata from the key plus the field assignments. */
export function buildResource(key: string, fields: Map<string, string>, input: string): Resource {
  const [kind, namespace, name] = key.split('/') as [string, string, string];
  let r: { [k: string]: Json };
  if (input !== '') {
    if (fields.size > 0) throw new ScriptError('write: a JSON resource as input, or field=value assignments, not both');
    const parsed = parseValue(input);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ScriptError('write: the input is not a JSON object');
    r = parsed;
  } else {
    r = { apiVersion: API_VERSION_DEFAULT, kind, metadata: { name, namespace } };
    for (const [path, value] of fields) assignPath(r, path, parseValue(value));
  }
  return r as unknown as Resource;
}
