import { freemem } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { graphPlan } from './graph';

/** The largest heap the tfjs wasm module can grow to (wasm32: 4 GiB less one 64 KiB page). */
export const WASM_HEAP_MAX_BYTES = 4 * 1024 ** 3 - 64 * 1024;

/** Share of the free memory a forward pass may plan to use: allocator slack, kernel scratch and other threads get the rest. */
const WASM_SHARE = 0.5;
const HOST_SHARE = 0.25;
/** No forward pass larger than this many images: beyond it, speed no longer improves. */
export const MAX_FORWARD_BATCH = 64;

/**
 * Bytes per example that `runGraph` holds at its peak, from the model's
 * shapes (float32): at each layer call, every tensor still needed later plus
 * the call's output and as much again for the temporaries inside the layer.
 */
export function forwardBytesPerExample(model: tf.LayersModel): number {
  const plan = graphPlan(model);
  const size = (id: number) => 4 * plan.shapes.get(id)!.reduce((a, b) => a * b, 1);
  const live = new Set<number>([plan.input]);
  let held = size(plan.input);
  let peak = held;
  for (const step of plan.steps) {
    const out = step.outputs.reduce((s, id) => s + (id === undefined ? 0 : size(id)), 0);
    peak = Math.max(peak, held + 2 * out);
    for (const id of step.outputs) {
      if (id === undefined || live.has(id)) continue;
      live.add(id);
      held += size(id);
    }
    for (const id of step.free) {
      if (live.delete(id)) held -= size(id);
    }
  }
  return peak;
}

function hostAvailableBytes(): number {
  const available = (process as { availableMemory?: () => number }).availableMemory?.();
  return available && Number.isFinite(available) && available > 0 ? available : freemem();
}

/**
 * Bytes a forward pass may use on the active backend: on wasm half of what
 * its 4 GiB heap has left after the tensors alive now (and never more than
 * the machine has free); elsewhere a quarter of the machine's free memory.
 */
export function forwardBudgetBytes(): number {
  const host = hostAvailableBytes();
  if (tf.getBackend() === 'wasm') return WASM_SHARE * Math.min(host, Math.max(0, WASM_HEAP_MAX_BYTES - tf.memory().numBytes));
  return HOST_SHARE * host;
}

/**
 * Examples per forward pass of `model` that fit the budget
 * (`forwardBudgetBytes()` unless given), at least 1 and at most `max`.
 */
export function forwardMicroBatch(model: tf.LayersModel, options: { max?: number; budgetBytes?: number } = {}): number {
  const max = options.max ?? MAX_FORWARD_BATCH;
  const budget = options.budgetBytes ?? forwardBudgetBytes();
  return Math.max(1, Math.min(max, Math.floor(budget / forwardBytesPerExample(model))));
}
