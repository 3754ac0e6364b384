// Forward passes that fit the backend's memory: a layer-by-layer executor that frees each
// intermediate after its last consumer, and passes sized from the memory left.
export { runGraph, graphPlan } from './graph';
export type { RunGraphOptions, LayerOverride, GraphPlan, GraphStep } from './graph';
export { forwardInBatches } from './batches';
export type { ForwardOptions } from './batches';
export { forwardMicroBatch, forwardBytesPerExample, forwardBudgetBytes, WASM_HEAP_MAX_BYTES, MAX_FORWARD_BATCH } from './memory';
