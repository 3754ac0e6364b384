// One sum over a phase's hospitals: with secure aggregation, the key exchange,
// the phase's job (each hospital answers with its packed, masked words) and
// the unmasking; without it (DP on a trusted coordinator), the same job with
// the words added in the clear. The fit, calibration and evaluation phases of
// a secure run all sum through here; none sees one hospital's numbers.
import type { SecAggGraph, SecAggMaskedInput } from '@fedxray/protocol';
import { SecAggServer, SecureError, defaultGraph, defaultThreshold, type SumLayout } from '@fedxray/secure';
import type { CoordinatorConfig } from './config';
import type { Hub } from './hub';
import { wireError } from './intake';
import type { Connection, JobKind, JobOutcome, JobSpec, Verdict } from './jobs';
import type { Recorder } from './record';
import { exchangeKeys, unmask, type StageDrop } from './secure-stages';
import type { PhaseCounters } from './view';

/** Who shares masks with whom, and how many shares unmask. */
export interface SumPlan {
  graph: SecAggGraph;
  threshold: number;
}

/** The graph and threshold of a sum among n hospitals under the run's secure-aggregation settings. */
export function sumPlan(cfg: CoordinatorConfig, n: number, session: string): SumPlan {
  const variant = cfg.secureAggregation.variant;
  const graph = variant === 'secagg' ? { kind: 'full' as const } : variant === 'secagg+' && n > 3 ? sparseGraph(n, session) : defaultGraph(n, session);
  return { graph, threshold: cfg.secureAggregation.threshold ?? defaultThreshold(n, graph) };
}

/** SecAgg+'s sparse graph for n hospitals: the default degree, or the densest even degree below n − 1 for a small federation. */
function sparseGraph(n: number, seed: string): SecAggGraph {
  const g = defaultGraph(n, seed);
  if (g.kind === 'sparse') return g;
  const degree = Math.max(2, 2 * Math.floor((n - 2) / 2));
  return degree >= n - 1 ? g : { kind: 'sparse', degree, seed };
}

/** Adds words in the clear, checking each contribution as the SecAgg server checks a masked one. */
class ClearSum {
  readonly sum: Uint32Array;
  readonly from = new Set<number>();
  constructor(
    private readonly session: string,
    length: number,
  ) {
    this.sum = new Uint32Array(length);
  }
  take(index: number, input: SecAggMaskedInput): void {
    if (input.session !== this.session || input.from !== index) throw new SecureError('bad_message', `Expected session "${this.session}" from participant ${index}, got "${input.session}" from ${input.from}`);
    if (this.from.has(index)) throw new SecureError('duplicate', `Participant ${index} already sent its input`);
    if (input.masked.byteLength !== this.sum.length * 4) throw new SecureError('wrong_length', `Expected ${this.sum.length * 4} bytes, got ${input.masked.byteLength}`);
    const words = new Uint32Array(input.masked.slice().buffer);
    for (let i = 0; i < words.length; i++) this.sum[i] += words[i];
    this.from.add(index);
  }
}

/**
 * The schema check of a summed phase's answers, which says so when a hospital
 * answers in the clear (its message holds `plainKey`): `refusal` then, else
 * the schema's first complaint about `what`.
 */
export function summedAnswer<M>(schema: { safeParse(raw: unknown): { success: true; data: M } | { success: false; error: { issues: { message: string }[] } } }, plainKey: string, refusal: string, what: string) {
  return (raw: unknown): Verdict<M> => {
    const r = schema.safeParse(raw);
    if (r.success) return { ok: true, value: r.data };
    const plain = raw !== null && typeof raw === 'object' && plainKey in raw;
    return { ok: false, error: { code: 'bad_message', message: plain ? refusal : `Bad summed ${what}: ${r.error.issues[0]?.message}` } };
  };
}

export interface SumContext {
  config: CoordinatorConfig;
  hub: Hub;
  recorder: Recorder;
  counters: PhaseCounters;
}

/** One phase's sum: what to ask each hospital and how to read its answer. */
export interface SumSession<M extends { runId: string; round: number; input: SecAggMaskedInput }, T> {
  kind: JobKind;
  round: number;
  attempt: number;
  /** Names this sum; every key and ciphertext is bound to it. */
  session: string;
  layout: SumLayout;
  /** true: secure aggregation; false: summed in the clear. */
  masked: boolean;
  plan: SumPlan;
  /** How long the job may take (the key exchange and unmasking stages have their own timeout). */
  timeoutMs: number;
  /** Sends the job to a hospital, participant `index` of the sum. */
  send(conn: Connection, index: number): void;
  parse(raw: unknown): Verdict<M>;
  answers?(msg: M): boolean;
  /** What the phase records of an accepted answer (never the hospital's numbers: they are in the sum). */
  value(msg: M): T;
  /** Told as each hospital leaves the sum or its job ends. */
  settled?(name: string, outcome: JobOutcome<T>): void;
}

export type SumOutcome<T> = { results: Map<string, JobOutcome<T>> } & ({ ok: true; sum: Uint32Array; summands: number } | { ok: false; error: string });

/** Runs one sum among `chosen`; a hospital that leaves it is a failed job, too few left fail the sum (never throws for what hospitals sent). */
export async function runSum<M extends { runId: string; round: number; input: SecAggMaskedInput }, T>(ctx: SumContext, chosen: Connection[], s: SumSession<M, T>): Promise<SumOutcome<T>> {
  const { config: cfg, recorder } = ctx;
  const conns = new Map(chosen.map((c, i) => [i + 1, c]));
  const indexOf = new Map(chosen.map((c, i) => [c.name, i + 1]));
  const results = new Map<string, JobOutcome<T>>();
  const drop = (d: StageDrop) => {
    if (results.has(d.name)) return;
    const o = { ok: false as const, error: `left the secure sum at ${d.stage}: ${d.error}` };
    results.set(d.name, o);
    s.settled?.(d.name, o);
    recorder.logger.log('warn', 'secure aggregation: hospital dropped', { round: s.round, attempt: s.attempt, phase: s.kind, hospital: d.name, stage: d.stage, error: d.error });
  };
  const failed = (why: string): SumOutcome<T> => {
    for (const c of chosen) if (!results.get(c.name) || results.get(c.name)!.ok) results.set(c.name, { ok: false, error: why });
    return { ok: false, error: why, results };
  };

  let server: SecAggServer | null = null;
  let ready = [...conns.keys()];
  if (s.masked) {
    try {
      server = new SecAggServer({ session: s.session, participants: [...conns.keys()], threshold: s.plan.threshold, graph: s.plan.graph, vectorLength: s.layout.length });
      const k = await exchangeKeys(server, conns, cfg.secureAggregation.stageTimeoutMs);
      k.drops.forEach(drop);
      ready = [...k.ready];
    } catch (err) {
      return failed(`secure aggregation could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const clear = server ? null : new ClearSum(s.session, s.layout.length);
  const spec: JobSpec<M, T> = {
    kind: s.kind,
    round: s.round,
    attempt: s.attempt,
    send: (conn) => s.send(conn, indexOf.get(conn.name)!),
    parse: s.parse,
    answers: s.answers,
    accept: (conn, msg) => {
      ctx.counters.bytesReceived += msg.input.masked.byteLength;
      try {
        if (server) server.receiveMaskedInput(indexOf.get(conn.name)!, msg.input);
        else clear!.take(indexOf.get(conn.name)!, msg.input);
      } catch (err) {
        return { ok: false, error: wireError(err, 'bad_weights') };
      }
      return { ok: true, value: s.value(msg) };
    },
    settled: s.settled,
  };
  const answered = await ctx.hub.dispatch(
    ready.map((i) => conns.get(i)!),
    spec,
    s.timeoutMs,
  );
  for (const [name, o] of answered) results.set(name, o);
  try {
    if (server) {
      const u = await unmask(server, conns, cfg.secureAggregation.stageTimeoutMs);
      for (const d of u.drops) recorder.logger.log('warn', 'secure aggregation: no unmask answer', { round: s.round, phase: s.kind, hospital: d.name, error: d.error });
      recorder.logger.log('info', 'secure sum unmasked', { round: s.round, attempt: s.attempt, phase: s.kind, survivors: u.result.survivors.length, dropped: u.result.dropped.length, absent: u.result.absent.length });
      return { ok: true, sum: u.result.sum, summands: u.result.survivors.length, results };
    }
    if (clear!.from.size === 0) return failed(`no hospital sent its ${s.kind === 'fit' ? 'update' : 'numbers'}`);
    return { ok: true, sum: clear!.sum, summands: clear!.from.size, results };
  } catch (err) {
    return failed(`the secure sum failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
