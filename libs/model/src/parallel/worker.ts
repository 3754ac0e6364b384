// One data-parallel training worker: its own tfjs (and wasm heap), a copy of
// the model, and two shared buffers — the weights it reads at every step and
// its own region where it leaves the step's mean gradients and its
// BatchNorm moving statistics. Started by ParallelTrainer.
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../backend';
import { buildModel } from '../densenet';
import type { ModelSpec } from '../spec';
import { Trainer, type LogitTransform } from '../trainer';
import { registerWasmTrainingKernels } from '../wasm/register';
import { namedVariables } from '../weights';
import { accumulateGradients } from './accumulate';
import { checkSameLayout, layoutOf, type SlotLayout } from './layout';
import type { ToWorker, FromWorker } from './messages';

interface Init {
  spec: ModelSpec;
  backend: BackendChoice;
  proximalMu: number;
  logitTransform?: LogitTransform;
  slots: SlotLayout[];
  weights: SharedArrayBuffer;
  region: SharedArrayBuffer;
}

const init = workerData as Init;
const port = parentPort!;

function send(m: FromWorker): void {
  port.postMessage(m);
}

async function main(): Promise<void> {
  const { backend } = await initBackend(init.backend);
  if (backend === 'wasm') registerWasmTrainingKernels();
  const model = buildModel(init.spec);
  const mine = layoutOf(model).slots;
  checkSameLayout(init.slots, mine);
  const trainer = new Trainer(model, init.spec, { proximalMu: init.proximalMu, logitTransform: init.logitTransform });
  const vars = namedVariables(model).map((v) => v.variable);
  const weights = new Float32Array(init.weights);
  const region = new Float32Array(init.region);
  const index = new Map(init.slots.map((s, i) => [s.name, i]));

  port.on('message', (m: ToWorker) => {
    try {
      if (m.type === 'reference') {
        trainer.setReference(m.weights);
        return;
      }
      const frozen = new Set(m.frozenLayers);
      for (const l of model.layers) if (l.getClassName() !== 'InputLayer') l.trainable = !frozen.has(l.name);
      vars.forEach((v, i) => {
        const s = init.slots[i];
        const t = tf.tensor(weights.slice(s.offset, s.offset + s.size), s.shape, 'float32');
        v.write(t);
        t.dispose();
      });
      const x = tf.tensor4d(m.x, m.shape);
      let r;
      try {
        r = accumulateGradients((xb, yb) => trainer.computeGradients(xb, yb), x, m.y, m.microBatch);
      } finally {
        x.dispose();
      }
      for (const [name, g] of r.grads) {
        const s = init.slots[index.get(name)!];
        const values = g.dataSync() as Float32Array;
        region.set(values, s.offset); // its mean gradient; the main thread weights it by r.count
        g.dispose();
      }
      vars.forEach((v, i) => {
        const s = init.slots[i];
        if (s.batchNormStat) region.set(v.read().dataSync() as Float32Array, s.offset);
      });
      send({ type: 'done', id: m.id, loss: r.loss * r.count, correct: r.correct, count: r.count });
    } catch (err) {
      send({ type: 'error', id: m.type === 'step' ? m.id : -1, message: err instanceof Error ? err.message : String(err) });
    }
  });
  send({ type: 'ready', backend });
}

main().catch((err) => send({ type: 'error', id: -1, message: err instanceof Error ? err.message : String(err) }));
