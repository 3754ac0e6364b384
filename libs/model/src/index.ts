import './quiet';
// Public API of @fedxray/model: the DenseNet family with the study's head,
// weights as named arrays, the training loop, save/load, backends, Grad-CAM.
export { ARCHS, ARCH_CONFIGS, HEAD_ACTIVATIONS, OUTPUTS, OPTIMIZERS, ModelSpecSchema, HEAD_LAYERS, BACKBONE_OUTPUT_LAYER } from './spec';
export type { Arch, ArchConfig, ModelSpec, ModelSpecInput } from './spec';
export { buildModel, setBackboneTrainable, isBackboneFrozen, isBackboneLayer, featureSize, specOf } from './densenet';
export type { BuildOptions } from './densenet';
export { getNamedWeights, setNamedWeights, weightManifest } from './weights';
export type { WeightEntry } from './weights';
export { Trainer, evaluateBatch, predictProbs, createOptimizer, exampleLosses, transformedLogitLosses } from './trainer';
export type { TrainerOptions, BatchResult, GradientResult, LogitTransform } from './trainer';
export { saveModel, loadModel, readModelMeta, META_FILE, MODEL_FILE } from './io';
export type { SavedMeta } from './io';
export { packModel, unpackModel, modelFiles } from './archive';
export { modelSummary } from './summary';
export type { ModelSummary } from './summary';
export { initBackend, onBackendReady, missingTrainingKernels, BACKEND_CHOICES, TRAINING_KERNELS } from './backend';
export type { BackendChoice, BackendResult, BackendAttempt, InitBackendOptions } from './backend';
export { registerCpuTrainingKernels } from './cpu-kernels';
export { importKerasWeights, readKerasWeights } from './keras-import';
export type { KerasImportReport } from './keras-import';
export { gradCam, FLAT_RANGE } from './gradcam';
export type { GradCamResult, FlatMap } from './gradcam';
export { heatmapOverlayPng } from './overlay';
export type { RawImage, OverlayOptions } from './overlay';
export { ModelError, BackendError } from './errors';
export type { ModelErrorCode } from './errors';
export { assertBackendAlive, backendFailure, isBackendCrash } from './backend-health';
export { runGraph, forwardInBatches, forwardMicroBatch, forwardBytesPerExample, forwardBudgetBytes } from './forward/index';
export type { ForwardOptions, RunGraphOptions, LayerOverride } from './forward/index';
export { BatchNormStatsCollector, batchNormStatNames, checkBatchNormReport, poolBatchNormStats, applyBatchNormStats, batchNormChannels, varianceNameOf, BATCHNORM_POOLINGS } from './batchnorm/index';
export type { BatchNormStatsReport, BatchNormPooling, CollectOptions, PoolOptions } from './batchnorm/index';
// --- Starting weights, what trains, features of a frozen backbone ---
export { resolveStartingWeights, parseWeightsSource, parseWeightsSourceSync, WEIGHTS_SOURCE_FORMS } from './starting-weights';
export { weightsPreprocessing, trainingSchedule } from './run-setup';
export type { WeightsSource, StartingWeights, StartingWeightsOptions, SavedPreprocessing } from './starting-weights';
export { hashNamedWeights, backboneHash, isBackboneWeight } from './weights-hash';
export { preprocessingFor, IMAGENET_MEAN, IMAGENET_STD } from './preprocess';
export type { Preprocessing, RequestedPreprocessing, Normalize } from './preprocess';
export { fetchImagenetWeights, fetchWeightFile, imagenetFile, imagenetWeightsPath, fedxrayCacheDir, offlineHint, IMAGENET_WEIGHTS, IMAGENET_ARCHS } from './fetch/imagenet';
export type { KerasWeightFile, FetchImagenetOptions, FetchImagenetResult, ImagenetArch } from './fetch/imagenet';
export { DownloadError, HashMismatchError, downloadVerified, fileDigest } from './fetch/download';
export type { DownloadOptions, DownloadProgress, DownloadResult } from './fetch/download';
export { writeKerasWeights, writeKerasWeightsFile, kerasLayersOf } from './keras-write';
export type { KerasLayerWeights } from './keras-write';
export { parseTrainable, formatTrainable, planTrainable, planTrainableOn, applyTrainable, updatedWeights, TRAINABLE_FORMS } from './trainable';
export type { TrainableSetting, TrainablePlan } from './trainable';
export { parseSchedule, formatSchedule, scheduleRounds, trainableForRound } from './schedule';
export type { ScheduleEntry } from './schedule';
export { HeadTrainer, extractFeatures, featureLength, featureModel } from './features';
export { benchHeadTraining } from './head-bench';
export type { HeadBenchOptions, HeadBenchResult, BenchFeatureStore } from './head-bench';

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
export { HeadStatsCollector, HEAD_STAT_NAMES, addFeatures, emptyHeadStats, headStatsFromNamed, headStatsToNamed, poolHeadStats, triangleLength, HEAD_OUT_BIAS, HEAD_OUT_KERNEL, calibrateHeadWeights, classGaussian, headReference, fitHeadOnStats, virtualFeatures } from './head-calibration/index';
export type { HeadStats, HeadFitOptions } from './head-calibration/index';
