/**
 * Worker-thread host for a hospital's trainer: the socket lives on the main
 * thread and keeps heartbeating while this thread trains.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InlineTrainer } from './trainer';

interface Call {
  id: number;
  method: 'setup' | 'fit' | 'evaluate' | 'calibrate' | 'abort' | 'close';
  args: unknown[];
}

const port = parentPort!;
const ready = InlineTrainer.create(workerData.options);

ready.then(
  (t) => port.postMessage({ type: 'ready', facts: t.facts(), backend: t.backend() }),
  (err) => port.postMessage({ type: 'ready', error: err instanceof Error ? err.message : String(err) }),
);

port.on('message', async (call: Call) => {
  const trainer = await ready;
  if (call.method === 'abort') {
    trainer.abort();
    return;
  }
  try {
    const progress = (p: unknown) => port.postMessage({ type: 'progress', id: call.id, progress: p });
    let result: unknown;
    if (call.method === 'setup') result = await trainer.setup(call.args[0] as any, call.args[1] as any);
    else if (call.method === 'fit') result = await trainer.fit(call.args[0] as any, call.args[1] as any, progress);
    else if (call.method === 'evaluate') result = await trainer.evaluate(call.args[0] as any, call.args[1] as any, progress);
    else if (call.method === 'calibrate') result = await trainer.calibrate(call.args[0] as any, call.args[1] as any);
    else if (call.method === 'close') result = await trainer.close();
    const transfer = call.method === 'fit' ? (result as any).weights.map((w: any) => w.values.buffer) : [];
    port.postMessage({ type: 'result', id: call.id, result }, transfer);
  } catch (err) {
    port.postMessage({ type: 'result', id: call.id, error: err instanceof Error ? err.message : String(err) });
  }
});
