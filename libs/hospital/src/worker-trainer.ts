import type { Worker } from 'node:worker_threads';
import { startTsWorker, tsBootstrap } from '@fedxray/runtime';
import type { CalibrationTarget, FitConfig, NamedWeights } from '@fedxray/protocol';
import type { EvaluationSummary } from '@fedxray/evaluation';
import type { TrainerOptionsInput } from './config';
import type { DatasetFacts, FitOutcome, FitProgress, LocalTrainer } from './trainer';
import type { FromTrainer, TrainerCall, TrainerResult, TrainerWorkerData } from './worker-messages';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
/** A call without its id (the WorkerTrainer numbers them). */
type Call = WithoutId<TrainerCall>;

function unexpected(result: TrainerResult, wanted: TrainerCall['method']): never {
  throw new Error(`trainer thread answered a ${wanted} call with a ${result.method} result`);
}

/** A LocalTrainer whose tfjs runs in its own worker thread (its own backend instance). */
export class WorkerTrainer implements LocalTrainer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: TrainerResult): void; reject(e: Error): void; progress?: (p: FitProgress) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly info: { facts: DatasetFacts; backend: string },
  ) {
    worker.on('message', (msg: FromTrainer) => {
      if (msg.type === 'ready' || msg.type === 'startFailed') return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') {
        p.progress?.(msg.progress);
        return;
      }
      this.pending.delete(msg.id);
      if (msg.type === 'error') p.reject(new Error(msg.error));
      else p.resolve(msg);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(new Error(`trainer thread exited with code ${code}`));
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  static async create(options: TrainerOptionsInput): Promise<WorkerTrainer> {
    const workerData: TrainerWorkerData = { options };
    const worker = startTsWorker(new URL('./worker-entry.ts', import.meta.url), { workerData, resourceLimits: { maxOldGenerationSizeMb: 8192 } });
    const info = await new Promise<{ facts: DatasetFacts; backend: string }>((resolve, reject) => {
      worker.once('message', (msg: FromTrainer) => {
        if (msg.type === 'ready') resolve({ facts: msg.facts, backend: msg.backend });
        else reject(new Error(msg.type === 'startFailed' ? msg.error : `trainer thread sent ${msg.type} before it was ready`));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`trainer thread exited with code ${code} before it was ready`)));
    }).catch(async (err) => {
      await worker.terminate();
      throw err;
    });
    return new WorkerTrainer(worker, info);
  }

  private call(call: Call, progress?: (p: FitProgress) => void): Promise<TrainerResult> {
    if (this.closed) return Promise.reject(new Error('trainer is closed'));
    const id = this.nextId++;
    return new Promise<TrainerResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      const message: TrainerCall = { ...call, id };
      this.worker.postMessage(message);
    });
  }

  facts(): DatasetFacts {
    return this.info.facts;
  }

  backend(): string {
    return this.info.backend;
  }

  async setup(spec: Record<string, unknown>, runClasses: string[]): Promise<void> {
    await this.call({ method: 'setup', args: [spec, runClasses] });
  }

  async fit(weights: NamedWeights | null, config: FitConfig, onProgress?: (p: FitProgress) => void): Promise<FitOutcome> {
    const r = await this.call({ method: 'fit', args: [weights, config] }, onProgress);
    return r.method === 'fit' ? r.result : unexpected(r, 'fit');
  }

  async evaluate(weights: NamedWeights | null, split: 'val' | 'test', onProgress?: (p: FitProgress) => void): Promise<EvaluationSummary> {
    const r = await this.call({ method: 'evaluate', args: [weights, split] }, onProgress);
    return r.method === 'evaluate' ? r.result : unexpected(r, 'evaluate');
  }

  async calibrate(weights: NamedWeights, maxExamples: number, trainable?: string, target?: CalibrationTarget): Promise<{ stats: NamedWeights; examples: number }> {
    const r = await this.call({ method: 'calibrate', args: [weights, maxExamples, trainable, target] });
    return r.method === 'calibrate' ? r.result : unexpected(r, 'calibrate');
  }

  abort(): void {
    const message: TrainerCall = { id: 0, method: 'abort', args: [] };
    this.worker.postMessage(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call({ method: 'close', args: [] }).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }
}

/** Node arguments and entry file that run one hospital per process (see process-entry.ts). */
export function hospitalProcessCommand(): { execPath: string; args: string[] } {
  const code = tsBootstrap(new URL('./process-entry.ts', import.meta.url));
  return { execPath: process.execPath, args: ['--input-type=module', '--eval', code] };
}
