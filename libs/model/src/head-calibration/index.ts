// Head calibration: hospitals collect class statistics of the last layer's input,
// the coordinator pools them and retrains the last layer on virtual features.
export { HeadStatsCollector } from './collect';
export { HEAD_STAT_NAMES, addFeatures, emptyHeadStats, headStatsFromNamed, headStatsToNamed, poolHeadStats, triangleLength } from './stats';
export type { HeadStats } from './stats';
export { HEAD_OUT_BIAS, HEAD_OUT_KERNEL, calibrateHeadWeights, classGaussian, headReference, fitHeadOnStats, virtualFeatures } from './fit';
export type { HeadFitOptions } from './fit';
