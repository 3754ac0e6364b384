import type { CoordinatorView } from './view';

function line(name: string, help: string, type: 'gauge' | 'counter', samples: [Record<string, string>, number][]): string {
  const out = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) {
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
      .join(',');
    out.push(`${name}${l ? `{${l}}` : ''} ${Number.isFinite(value) ? value : 'NaN'}`);
  }
  return out.join('\n');
}

/** Prometheus text exposition (version 0.0.4) of the coordinator's state. */
export function prometheusText(c: CoordinatorView): string {
  const s = c.state();
  const n = c.counts();
  const last = s.history[s.history.length - 1];
  const run = { run: s.run.id };
  const agg = c.lastAggregation();
  return (
    [
      line('fedxray_rounds_completed', 'Rounds aggregated and evaluated in the current run.', 'gauge', [[run, s.run.completedRounds]]),
      line('fedxray_rounds_planned', 'Rounds the current run will do.', 'gauge', [[run, s.run.rounds]]),
      line('fedxray_hospitals_connected', 'Hospitals connected and greeted.', 'gauge', [[{}, n.connected]]),
      line('fedxray_updates_accepted_total', 'Hospital updates accepted into aggregation.', 'counter', [[{}, n.updatesAccepted]]),
      line(
        'fedxray_updates_refused_total',
        "Hospitals' answers refused by a check, by phase (fit: updates, calibrate: BatchNorm statistics, evaluate: summaries) and reason (the code the hospital was told).",
        'counter',
        n.refused.map((r) => [{ phase: r.phase, reason: r.reason }, r.count] as [Record<string, string>, number]),
      ),
      line('fedxray_weights_bytes_received_total', 'Weight bytes received from hospitals.', 'counter', [[{}, n.bytesReceived]]),
      line('fedxray_weights_bytes_sent_total', 'Weight bytes sent to hospitals for training.', 'counter', [[{}, n.bytesSent]]),
      line('fedxray_round_duration_seconds', 'Duration of the last completed round.', 'gauge', [[run, last ? last.durationMs / 1000 : NaN]]),
      line('fedxray_aggregation_seconds', "Wall time of the last round's aggregation (folding the held updates into the new global model).", 'gauge', [
        [run, agg ? agg.ms / 1000 : NaN],
      ]),
      line('fedxray_aggregation_memory_bytes', 'Memory the aggregation strategy held when the last round was aggregated.', 'gauge', [[run, agg?.retainedBytes ?? NaN]]),
      line('fedxray_global_accuracy', 'Pooled accuracy of the global model at the last evaluation.', 'gauge', [[run, last?.metrics?.accuracy ?? NaN]]),
      line('fedxray_global_loss', 'Pooled loss of the global model at the last evaluation.', 'gauge', [[run, last?.metrics?.loss ?? NaN]]),
      line(
        'fedxray_hospital_failures_total',
        'Failed fit, calibrate or evaluate jobs per hospital (no answer in time, gone, refused by a check, or reported).',
        'counter',
        s.hospitals.map((h) => [{ hospital: h.name }, h.failures] as [Record<string, string>, number]),
      ),
    ].join('\n') + '\n'
  );
}
