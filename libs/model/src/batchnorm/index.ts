// BatchNorm statistics as one unit: collect them at a site, check a site's report, pool
// several sites' reports, apply the pooled statistics to a model's weights.
export { BatchNormStatsCollector } from './collect';
export type { CollectOptions } from './collect';
export { batchNormStatNames, checkBatchNormReport, applyBatchNormStats, batchNormChannels, varianceNameOf, BATCHNORM_POOLINGS } from './report';
export type { BatchNormStatsReport, BatchNormPooling } from './report';
export { poolBatchNormStats } from './pool';
export type { PoolOptions } from './pool';
