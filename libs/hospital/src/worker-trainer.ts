import type { Worker } from 'node:worker_threads';
import { startTsWorker, tsBootstrap } from '@fedxray/runtime';
import type { FitConfig, NamedWeights } from '@fedxray/protocol';
import type { EvaluationSummary } from '@fedxray/evaluation';
import type { TrainerOptionsInput } from './config';
import type { DatasetFacts, FitOutcome, FitProgress, LocalTrainer } from './trainer';


/** A LocalTrainer whose tfjs runs in its own worker thread (its own backend instance). */
export class WorkerTrainer implements LocalTrainer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: any): void; reject(e: Error): void; progress?: (p: FitProgress) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    private readonly info: { facts: DatasetFacts; backend: string },
  ) {
    worker.on('message', (msg: any) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.type === 'progress') p.progress?.(msg.progress);
      else {
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(msg.error));
        else p.resolve(msg.result);
      }
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
    const worker = startTsWorker(new URL('./worker-entry.ts', import.meta.url), { workerData: { options }, resourceLimits: { maxOldGenerationSizeMb: 8192 } });
    const info = await new Promise<{ facts: DatasetFacts; backend: string }>((resolve, reject) => {
      worker.once('message', (msg: any) => (msg.error ? reject(new Error(msg.error)) : resolve({ facts: msg.facts, backend: msg.backend })));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`trainer thread exited with code ${code} before it was ready`)));
    }).catch(async (err) => {
      await worker.terminate();
      throw err;
    });
    return new WorkerTrainer(worker, info);
  }

  private call<T>(method: string, args: unknown[], progress?: (p: FitProgress) => void, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new Error('trainer is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, progress });
      this.worker.postMessage({ id, method, args }, transfer);
    });
  }

  facts(): DatasetFacts {
    return this.info.facts;
  }

  backend(): string {
    return this.info.backend;
  }

  setup(spec: Record<string, unknown>, runClasses: string[]): Promise<void> {
    return this.call('setup', [spec, runClasses]);
  }

  fit(weights: NamedWeights | null, config: FitConfig, onProgress?: (p: FitProgress) => void): Promise<FitOutcome> {
    return this.call('fit', [weights, config], onProgress);
  }

  evaluate(weights: NamedWeights | null, split: 'val' | 'test', onProgress?: (p: FitProgress) => void): Promise<EvaluationSummary> {
    return this.call('evaluate', [weights, split], onProgress);
  }

  calibrate(weights: NamedWeights, maxExamples: number): Promise<{ stats: NamedWeights; examples: number }> {
    return this.call('calibrate', [weights, maxExamples]);
  }

  abort(): void {
    this.worker.postMessage({ id: 0, method: 'abort', args: [] });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call('close', []).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }
}

/** Node arguments and entry file that run one hospital per process (see process-entry.ts). */
export function hospitalProcessCommand(): { execPath: string; args: string[] } {
  const code = tsBootstrap(new URL('./process-entry.ts', import.meta.url));
  return { execPath: process.execPath, args: ['--input-type=module', '--eval', code] };
}
