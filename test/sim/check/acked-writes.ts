// Acknowledged writes are not lost.
//
// quorum-writes: an acknowledged quorum write is in the final state of every controller, or was
//   replaced there by a write after it in HLC order (a write that saw it, or under LastWriterWins a
//   concurrent one with a higher stamp). And it could have been acknowledged at all: while it was in
//   flight, the network let it reach durabilityQuorum controllers (and, when recorded, that many held
//   it at the ack).
// local-writes: the same for acknowledged local writes (the only loss the rules allow is the
//   LastWriterWins loser of a concurrent write), and no two stored writes share a dot. Every version
//   a controller holds at the end is explained by a client write: a recorded one (same dot, same
//   stamp), or one that may have stored it unrecorded (failed after storing, or never answered), one
//   such write per version. (A version with a recorded dot and another stamp is a reused counter.)
// lww-real-time: under LastWriterWins, a write that began more than 2 × maxClockOffset after another
//   was acknowledged does not lose to it by stamp. Two controllers that each agree with a quorum
//   within maxClockOffset may differ by twice that, so less is no evidence; skewed-writes catches a
//   skewed controller accepting writes at all.
import { compareHlc } from '../../../storage/logic/hlc.ts';
import { dotText, fmtMs, type FinalState, type History, type WriteOp } from './history.ts';
import { canCarry, segments } from './truth.ts';
import type { Violation } from './violation.ts';
import { removedControllers, votersAt } from './removals.ts';
import { FateJudge, storedWrites, type Fate, type StoredWrite } from './write-fates.ts';

/** The acknowledged writes of one durability that changed something. */
function acked(h: History, durability: WriteOp['durability']): StoredWrite[] {
  return storedWrites(h).filter((w) => w.op.outcome.status === 'ok' && w.op.durability === durability);
}

function controllerStates(h: History): FinalState[] {
  return h.controllers.filter((c) => Object.hasOwn(h.final, c)).map((c) => h.final[c]!);
}

/** `#7 apply a ProxyRoute/default/k (a:3, hlc 12.345s+0)`. */
export function describeWrite(w: StoredWrite): string {
  return `#${w.op.id} ${w.op.kind} on ${w.op.node} (${dotText(w.ack)}, stamp ${w.ack.hlc.wallMs}+${w.ack.hlc.logical})`;
}

function lostOn(h: History, judge: FateJudge, w: StoredWrite): string[] {
  const out: string[] = [];
  for (const s of controllerStates(h)) {
    const f: Fate = judge.fate(w, s);
    if (f.kind === 'lost') out.push(f.why);
  }
  return out;
}

/** Controllers that could have received a write sent by `origin` while it was in flight (kernels carry bytes while a process is paused). */
export function reachableDuring(h: History, origin: string, startMs: number, endMs: number): Set<string> {
  const holders = new Set([origin]);
  for (const seg of segments(h)) {
    if (seg.toMs <= startMs || (seg.fromMs >= endMs && seg.fromMs > startMs)) continue;
    let grew = true;
    while (grew) {
      grew = false;
      for (const from of [...holders]) {
        for (const to of h.controllers) {
          if (!holders.has(to) && canCarry(seg.state, from, to)) {
            holders.add(to);
            grew = true;
          }
        }
      }
    }
  }
  return holders;
}

/** Acknowledged quorum writes are held everywhere (or replaced by later ones) and were acknowledged by enough. */
export function checkQuorumWrites(h: History): Violation[] {
  const judge = new FateJudge(h);
  const out: Violation[] = [];
  for (const w of acked(h, 'quorum')) {
    const at = w.op.endMs ?? h.endMs;
    // Live membership: a majority of the voters of the writer's record (the fewest over the write's
    // time, as its record may change while the write is in flight).
    const sizes = [votersAt(h, w.op.node, w.op.startMs), votersAt(h, w.op.node, at)].filter((v) => v !== undefined).map((v) => Math.floor(v.length / 2) + 1);
    const q = sizes.length === 0 ? h.config.durabilityQuorum : Math.min(...sizes);
    const base = { checker: 'quorum-writes', atMs: at, node: w.op.node, key: w.op.key };
    const lost = lostOn(h, judge, w);
    if (lost.length > 0) out.push({ ...base, message: `quorum write ${describeWrite(w)} acknowledged at ${fmtMs(at)} is lost: ${lost.join('; ')}` });
    const outcome = w.op.outcome;
    if (outcome.status === 'ok' && outcome.holders !== undefined && outcome.holders.length < q) {
      out.push({ ...base, message: `quorum write ${describeWrite(w)} acknowledged at ${fmtMs(at)} while only ${outcome.holders.length} of ${q} controllers held it (${outcome.holders.join(', ')})` });
    }
    const reach = reachableDuring(h, w.op.node, w.op.startMs, at);
    if (reach.size < q) {
      out.push({ ...base, message: `quorum write ${describeWrite(w)} acknowledged at ${fmtMs(at)} though between ${fmtMs(w.op.startMs)} and then it could reach only ${[...reach].sort().join(', ')} (${q} needed)` });
    }
  }
  return out;
}

/** Acknowledged local writes are lost only as the conflict rule says; no dot names two writes. */
export function checkLocalWrites(h: History): Violation[] {
  const judge = new FateJudge(h);
  const out: Violation[] = [];
  // A local write is promised on its origin only: when the origin is removed from the federation,
  // what it had not replicated leaves with it (docs/regions.md). Quorum writes stay judged.
  const gone = removedControllers(h);
  for (const w of acked(h, 'local')) {
    if (gone.has(w.op.node)) continue;
    const at = w.op.endMs ?? h.endMs;
    const lost = lostOn(h, judge, w);
    if (lost.length > 0) {
      out.push({ checker: 'local-writes', atMs: at, node: w.op.node, key: w.op.key, message: `local write ${describeWrite(w)} acknowledged at ${fmtMs(at)} is lost: ${lost.join('; ')}` });
    }
  }
  out.push(...unexplainedVersions(h, judge));
  const byDot = new Map<string, StoredWrite>();
  for (const w of storedWrites(h)) {
    const id = `${w.op.key}\u0000${dotText(w.ack)}`;
    const other = byDot.get(id);
    if (other === undefined) byDot.set(id, w);
    else if (compareHlc(other.ack.hlc, w.ack.hlc) !== 0) {
      out.push({ checker: 'local-writes', atMs: w.op.startMs, node: w.op.node, key: w.op.key,
        message: `writes #${other.op.id} and #${w.op.id} share the dot ${dotText(w.ack)} (a counter reused, e.g. after a crash lost a stored write)` });
    }
  }
  return out;
}

/**
 * Versions held at the end that no client write explains: under a recorded dot with another stamp (a
 * reused counter), or more unrecorded versions of one origin than it had writes that may have stored
 * one without the history recording it. Only keys clients wrote are judged.
 */
function unexplainedVersions(h: History, judge: FateJudge): Violation[] {
  const keys = new Set(h.writes.map((op) => op.key));
  const out: Violation[] = [];
  const reported = new Set<string>();
  // Key and origin -> the unrecorded versions held (dot and stamp), and the first controller holding each.
  const unrecorded = new Map<string, Map<string, string>>();
  for (const s of controllerStates(h)) {
    for (const key of [...keys].sort()) {
      const rec = Object.hasOwn(s.records, key) ? s.records[key] : undefined;
      if (rec === undefined) continue;
      for (const e of rec.entries) {
        if (judge.writeOf(key, e) !== undefined) continue;
        const version = `${e.hlc.member}:${e.counter} (stamp ${e.hlc.wallMs}+${e.hlc.logical})`;
        const same = judge.writeOfDot(key, e.hlc.member, e.counter);
        if (same !== undefined) {
          if (reported.has(`${key}\u0000${version}`)) continue;
          reported.add(`${key}\u0000${version}`);
          out.push({ checker: 'local-writes', atMs: h.endMs, node: s.node, key,
            message: `${s.node} holds version ${version}, but write ${describeWrite(same)} has that dot (a counter reused, e.g. after a crash lost a stored write)` });
          continue;
        }
        const id = `${key}\u0000${e.hlc.member}`;
        const held = unrecorded.get(id) ?? new Map<string, string>();
        unrecorded.set(id, held);
        if (!held.has(version)) held.set(version, s.node);
      }
    }
  }
  for (const [id, held] of unrecorded) {
    const [key, origin] = id.split('\u0000') as [string, string];
    const candidates = judge.unrecordedCandidates(key, origin);
    if (held.size <= candidates.length) continue;
    const versions = [...held].map(([v, node]) => `${v} on ${node}`).join(', ');
    out.push({ checker: 'local-writes', atMs: h.endMs, node: origin, key,
      message: `controllers hold ${held.size} versions by ${origin} that no recorded write has (${versions}), but only ${candidates.length} client writes on ${origin} may have stored one unrecorded (failed after storing, or never answered)${candidates.length === 0 ? '' : `: ${candidates.map((op) => `#${op.id}`).join(', ')}`}` });
  }
  return out;
}

/**
 * Under LastWriterWins, no acknowledged write loses by stamp to a write acknowledged more than
 * `slackMs` (default 2 × maxClockOffset) before it began.
 */
export function checkLwwRealTime(h: History, slackMs: number = 2 * h.config.maxClockOffsetMs): Violation[] {
  if (h.config.strategy !== 'LastWriterWins') return [];
  const judge = new FateJudge(h);
  const out: Violation[] = [];
  for (const w of storedWrites(h)) {
    if (w.op.outcome.status !== 'ok') continue;
    for (const s of controllerStates(h)) {
      const f = judge.fate(w, s);
      if (f.kind !== 'lww-loser' || f.winnerOp === undefined) continue;
      const win = f.winnerOp.op;
      if (win.outcome.status !== 'ok' || win.endMs === undefined || w.op.startMs <= win.endMs + slackMs) continue;
      out.push({ checker: 'lww-real-time', atMs: w.op.startMs, node: w.op.node, key: w.op.key,
        message: `write ${describeWrite(w)} began at ${fmtMs(w.op.startMs)}, ${fmtMs(w.op.startMs - win.endMs)} after write ${describeWrite(f.winnerOp)} was acknowledged, yet loses to it by stamp on ${s.node} (maxClockOffset ${h.config.maxClockOffsetMs} ms)` });
      break;
    }
  }
  return out;
}
