// Public API of @fedxray/data: plain typed arrays, no tfjs, so it also runs in worker threads.
export { scanDataset, findDuplicates, relativePath } from './scan';
export type { DataItem, Dataset, ScanOptions, SkippedFile, DuplicateGroup, ImageInfo, SplitName } from './scan';
export { splitDataset, assignSplit, DEFAULT_SPLIT_RATIOS } from './split';
export type { SplitOptions, Splits } from './split';
export { decodeImage, decodeResized, toModelInput, probeImage, DecodeOptionsSchema } from './decode';
export type { DecodeOptions, RawImage } from './decode';
export { readDicom, TRANSFER_SYNTAXES } from './dicom';
export type { DicomImage } from './dicom';
export { sniffFormat } from './sniff';
export type { ImageFormat } from './sniff';
export { batches, planEpoch, balanceTarget } from './batches';
export type { Batch, BatchOptions, BatchStats, BatchStream, PlannedExample } from './batches';
export { partition, parsePartitionSpec, labelCounts, PARTITION_FORMS } from './partition';
export type { PartitionSpec } from './partition';
export { AugmentConfigSchema, defaultAugmentConfig, augmentImage } from './augment';
export type { AugmentConfig, AugmentInput, AugmentOp, AugmentTrace } from './augment';
export { DataError, UnreadableImageError } from './errors';
