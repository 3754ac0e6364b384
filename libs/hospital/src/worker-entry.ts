/**
 * Worker-thread host for a hospital's trainer: the socket lives on the main
 * thread and keeps heartbeating while this thread trains.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NamedWeights } from '@fedxray/protocol';
import { InlineTrainer, type FitProgress } from './trainer';
import type { FromTrainer, TrainerCall, TrainerResult, TrainerWorkerData } from './worker-messages';

const port = parentPort!;
const send = (message: FromTrainer, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const { options } = workerData as TrainerWorkerData;
const ready = InlineTrainer.create(options);

ready.then(
  (t) => send({ type: 'ready', facts: t.facts(), backend: t.backend() }),
  (err) => send({ type: 'startFailed', error: err instanceof Error ? err.message : String(err) }),
);

/** The distinct ArrayBuffers under a model's weights: moved to the other thread, not copied. */
function buffersOf(weights: NamedWeights): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const w of weights) if (w.values.buffer instanceof ArrayBuffer) buffers.add(w.values.buffer);
  return [...buffers];
}

async function run(trainer: InlineTrainer, call: Exclude<TrainerCall, { method: 'abort' }>): Promise<TrainerResult> {
  const progress = (p: FitProgress) => send({ type: 'progress', id: call.id, progress: p });
  switch (call.method) {
    case 'setup':
      await trainer.setup(...call.args);
      return { type: 'result', id: call.id, method: 'setup' };
    case 'fit':
      return { type: 'result', id: call.id, method: 'fit', result: await trainer.fit(...call.args, progress) };
    case 'evaluate':
      return { type: 'result', id: call.id, method: 'evaluate', result: await trainer.evaluate(...call.args, progress) };
    case 'calibrate':
      return { type: 'result', id: call.id, method: 'calibrate', result: await trainer.calibrate(...call.args) };
    case 'close':
      await trainer.close();
      return { type: 'result', id: call.id, method: 'close' };
  }
}

port.on('message', async (call: TrainerCall) => {
  const trainer = await ready;
  if (call.method === 'abort') {
    trainer.abort();
    return;
  }
  try {
    const result = await run(trainer, call);
    send(result, result.method === 'fit' ? buffersOf(result.result.weights) : []);
  } catch (err) {
    send({ type: 'error', id: call.id, error: err instanceof Error ? err.message : String(err) });
  }
});
