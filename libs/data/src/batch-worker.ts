// Worker-thread side of BatchWorkerPool: for each run, decodes the batches b ≡ index (mod count)
// of the same epoch plan and posts them (buffers transferred), never more than prefetch + 1
// unacknowledged. The worker stays up between runs (epochs).
import { parentPort } from 'node:worker_threads';
import { createBatchMaker } from './batches';
import type { Batch, BatchOptions } from './batches';
import type { DataItem } from './scan';

interface Run {
  type: 'run';
  id: number;
  items: DataItem[];
  options: BatchOptions;
  index: number;
  count: number;
}

interface State {
  credits: number;
  cancelled: boolean;
  wake: (() => void) | null;
}

const runs = new Map<number, State>();

async function run(port: NonNullable<typeof parentPort>, r: Run, st: State): Promise<void> {
  const maker = createBatchMaker(r.items, r.options);
  st.credits = maker.prefetch + 1;
  const mine: number[] = [];
  for (let b = r.index; b < maker.total; b += r.count) mine.push(b);
  const pending = new Map<number, Promise<Batch>>();
  let launched = 0;
  let reportedSkipped = 0;
  let reportedExamples = 0;
  for (let k = 0; k < mine.length && !st.cancelled; k++) {
    while (launched < mine.length && launched <= k + maker.prefetch) {
      pending.set(mine[launched], maker.makeBatch(mine[launched]));
      launched++;
    }
    const batch = await pending.get(mine[k])!;
    pending.delete(mine[k]);
    while (st.credits <= 0 && !st.cancelled) await new Promise<void>((resolve) => (st.wake = resolve));
    if (st.cancelled) break;
    st.credits--;
    const skipped = maker.stats.skipped.slice(reportedSkipped);
    reportedSkipped = maker.stats.skipped.length;
    const skippedExamples = maker.stats.skippedExamples - reportedExamples;
    reportedExamples = maker.stats.skippedExamples;
    port.postMessage({ type: 'batch', id: r.id, b: mine[k], x: batch.x, labels: batch.labels, n: batch.n, skipped, skippedExamples }, [
      batch.x.buffer as ArrayBuffer,
      batch.labels.buffer as ArrayBuffer,
    ]);
  }
  await Promise.allSettled(pending.values());
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (m: Run | { type: 'credit' | 'cancel'; id: number }) => {
    if (m.type === 'run') {
      const st: State = { credits: 0, cancelled: false, wake: null };
      runs.set(m.id, st);
      run(port, m, st)
        .catch((err: unknown) => port.postMessage({ type: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) }))
        .finally(() => runs.delete(m.id));
      return;
    }
    const st = runs.get(m.id);
    if (!st) return;
    if (m.type === 'credit') st.credits++;
    else st.cancelled = true;
    st.wake?.();
    st.wake = null;
  });
}
