import type { NamedWeights } from '@fedxray/protocol';

export type ToWorker =
  | {
      type: 'step';
      id: number;
      x: Float32Array;
      shape: [number, number, number, number];
      y: Int32Array;
      microBatch: number;
      /** Layers that do not train (their BatchNorm runs in inference mode). */
      frozenLayers: string[];
    }
  | { type: 'reference'; weights: NamedWeights | null };

export type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'done'; id: number; loss: number; correct: number; count: number }
  | { type: 'error'; id: number; message: string };
