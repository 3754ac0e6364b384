import './quiet';
// Public API of @fedxray/model: the DenseNet family with the study's head,
// weights as named arrays, the training loop, save/load, backends, Grad-CAM.
export { ARCHS, ARCH_CONFIGS, HEAD_ACTIVATIONS, OUTPUTS, OPTIMIZERS, ModelSpecSchema, HEAD_LAYERS, BACKBONE_OUTPUT_LAYER } from './spec';
export type { Arch, ArchConfig, ModelSpec, ModelSpecInput } from './spec';
export { buildModel, setBackboneTrainable, isBackboneFrozen, isBackboneLayer, featureSize, specOf } from './densenet';
export type { BuildOptions } from './densenet';
export { getNamedWeights, setNamedWeights, weightManifest } from './weights';
export type { WeightEntry } from './weights';
export { Trainer, evaluateBatch, predictProbs, createOptimizer, exampleLosses } from './trainer';
export type { TrainerOptions, BatchResult, GradientResult } from './trainer';
export { saveModel, loadModel, readModelMeta, META_FILE, MODEL_FILE } from './io';
export type { SavedMeta } from './io';
export { modelSummary } from './summary';
export type { ModelSummary } from './summary';
export { initBackend, onBackendReady, missingTrainingKernels, BACKEND_CHOICES, TRAINING_KERNELS } from './backend';
export type { BackendChoice, BackendResult, BackendAttempt, InitBackendOptions } from './backend';
export { registerCpuTrainingKernels } from './cpu-kernels';
export { importKerasWeights, readKerasWeights } from './keras-import';
export type { KerasImportReport } from './keras-import';
export { gradCam } from './gradcam';
export type { GradCamResult } from './gradcam';
export { heatmapOverlayPng } from './overlay';
export type { RawImage } from './overlay';
export { ModelError, BackendError } from './errors';
export type { ModelErrorCode } from './errors';
export { assertBackendAlive, backendFailure, isBackendCrash } from './backend-health';
export { runGraph, forwardInBatches, forwardMicroBatch, forwardBytesPerExample, forwardBudgetBytes } from './forward/index';
export type { ForwardOptions, RunGraphOptions, LayerOverride } from './forward/index';
export { BatchNormStatsCollector, batchNormStatNames, checkBatchNormReport, poolBatchNormStats, applyBatchNormStats, BATCHNORM_POOLINGS } from './batchnorm/index';
export type { BatchNormStatsReport, BatchNormPooling, CollectOptions } from './batchnorm/index';

// --- Training kernels and data parallelism (libs/model/src/wasm, libs/model/src/parallel) ---
// Exports of the fast training backend go between these two markers.
export { registerWasmTrainingKernels, unregisterWasmTrainingKernels, wasmTrainingKernelsRegistered, WASM_TRAINING_KERNELS } from './wasm/register';
export { kernelsVariant } from './wasm/module';
export { benchConv, DENSENET121_CONVS } from './wasm/bench';
export type { ConvBenchResult, ConvBenchRow, ConvShape } from './wasm/bench';
export { ParallelTrainer } from './parallel/trainer';
export type { ParallelTrainerOptions } from './parallel/trainer';
export { accumulateGradients, defaultMicroBatch, microBatchRanges } from './parallel/accumulate';
export type { MicroBatchGradients, GradientFn } from './parallel/accumulate';
export { benchTrain } from './parallel/bench';
export type { TrainBenchOptions, TrainBenchResult } from './parallel/bench';
// --- end of training kernels and data parallelism ---
