import * as tf from '@tensorflow/tfjs';
import { BackendError } from './errors';
import { registerCpuTrainingKernels } from './cpu-kernels';

/** What `--backend` accepts. */
export const BACKEND_CHOICES = ['auto', 'gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendAttempt {
  name: string;
  error?: string;
}

export interface BackendResult {
  /** tfjs' name of the backend now running: `tensorflow` (tfjs-node or tfjs-node-gpu), `wasm` or `cpu`. */
  backend: string;
  /** Which package runs it. */
  choice: Exclude<BackendChoice, 'auto'>;
  tried: BackendAttempt[];
}

export interface InitBackendOptions {
  /**
   * The backend must be able to train: `auto` skips a backend that lacks a
   * gradient kernel a DenseNet needs (stock wasm lacks Conv2DBackpropFilter).
   * @default true
   */
  training?: boolean;
}

type Setup = (backend: string) => void | Promise<void>;
const setups: { backend: string; fn: Setup }[] = [];

/**
 * Registers a function run by `initBackend` each time it starts `backend`
 * (tfjs' name: `wasm`, `cpu`, `tensorflow`, or `*` for any), after the backend
 * is set and before it is checked for training kernels — the place to register
 * extra kernels. Returns a function that removes it.
 */
export function onBackendReady(backend: string, fn: Setup): () => void {
  const entry = { backend, fn };
  setups.push(entry);
  return () => {
    const i = setups.indexOf(entry);
    if (i >= 0) setups.splice(i, 1);
  };
}

/** Gradient kernels a DenseNet training step calls. */
export const TRAINING_KERNELS = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad', 'AvgPoolGrad', 'FusedBatchNorm'] as const;

/** Training kernels the given backend does not have. */
export function missingTrainingKernels(backend: string): string[] {
  return TRAINING_KERNELS.filter((k) => !tf.getKernel(k, backend) && !(k === 'FusedBatchNorm' && backend === 'cpu'));
}

const NATIVE = {
  gpu: {
    pkg: '@tensorflow/tfjs-node-gpu',
    hint:
      'Install it with `npm install @tensorflow/tfjs-node-gpu` (its install downloads libtensorflow with CUDA support, so it needs internet access, and it needs a CUDA 11.2 / cuDNN 8.1 driver stack). Choose a card with CUDA_VISIBLE_DEVICES.',
  },
  node: {
    pkg: '@tensorflow/tfjs-node',
    hint: 'Install it with `npm install @tensorflow/tfjs-node` (its install downloads libtensorflow, so it needs internet access).',
  },
} as const;

async function importOptional(pkg: string): Promise<void> {
  // A variable specifier: the package is optional and may be absent at type-check time.
  const specifier = pkg;
  await import(specifier);
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') return 'not installed';
  return (e?.message ?? String(err)).split('\n')[0];
}

async function start(choice: Exclude<BackendChoice, 'auto'>): Promise<string> {
  let name: string;
  if (choice === 'gpu' || choice === 'node') {
    const setGrowth = choice === 'gpu' && process.env.TF_FORCE_GPU_ALLOW_GROWTH === undefined;
    // Without it libtensorflow reserves the whole card for this process.
    if (setGrowth) process.env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
    try {
      await importOptional(NATIVE[choice].pkg);
    } catch (err) {
      if (setGrowth) delete process.env.TF_FORCE_GPU_ALLOW_GROWTH;
      throw err;
    }
    name = 'tensorflow';
  } else if (choice === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    name = 'wasm';
  } else {
    name = 'cpu';
    registerCpuTrainingKernels();
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
  // The cpu backend's first use prints advice to install tfjs-node; the choice was deliberate here.
  if (name === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  for (const s of setups) if (s.backend === '*' || s.backend === name) await s.fn(name);
  return name;
}

/**
 * Starts a compute backend. `auto` tries tfjs-node-gpu → tfjs-node → wasm → cpu
 * and takes the first that loads (and, with `training`, can train); any other
 * choice starts that backend or throws a BackendError saying how to get it.
 */
export async function initBackend(choice: BackendChoice, options: InitBackendOptions = {}): Promise<BackendResult> {
  if (!(BACKEND_CHOICES as readonly string[]).includes(choice)) {
    throw new BackendError(`Expected a backend among ${BACKEND_CHOICES.join(', ')}, but got ${String(choice)}`);
  }
  const training = options.training ?? true;
  const tried: BackendAttempt[] = [];
  const order: Exclude<BackendChoice, 'auto'>[] = choice === 'auto' ? ['gpu', 'node', 'wasm', 'cpu'] : [choice];
  for (const c of order) {
    try {
      const name = await start(c);
      if (choice === 'auto' && training) {
        const missing = missingTrainingKernels(name);
        if (missing.length > 0) {
          tried.push({ name: c, error: `cannot train: no ${missing.join(', ')} kernel` });
          continue;
        }
      }
      tried.push({ name: c });
      return { backend: name, choice: c, tried };
    } catch (err) {
      const reason = describe(err);
      tried.push({ name: c, error: reason });
      if (choice !== 'auto') {
        const hint = c === 'gpu' || c === 'node' ? ` ${NATIVE[c].hint}` : '';
        const what = c === 'gpu' || c === 'node' ? `${NATIVE[c].pkg} (${reason})` : reason;
        throw new BackendError(`Backend '${c}' is not available: ${what}.${hint}`, tried);
      }
    }
  }
  throw new BackendError(`No backend could start: ${tried.map((t) => `${t.name}: ${t.error}`).join('; ')}`, tried);
}
