import { z } from 'zod';

/** The architectures `buildModel` knows. */
export const ARCHS = ['densenet121', 'densenet169', 'densenet201', 'densenet-tiny', 'densenet-small'] as const;
export type Arch = (typeof ARCHS)[number];

export const HEAD_ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;
export const OUTPUTS = ['softmax', 'sigmoid'] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'adagrad'] as const;

/**
 * Shape of one DenseNet: dense blocks (`conv2`, `conv3`, …), each followed by a
 * transition (`pool2`, `pool3`, …) except the last.
 */
export interface ArchConfig {
  /** Conv layers per dense block. */
  blocks: readonly number[];
  /** Channels each conv block adds (k). */
  growthRate: number;
  /** Filters of the 7×7 stem convolution `conv1/conv`. */
  initialFilters: number;
  /** Filters of each block's 1×1 bottleneck, as a multiple of the growth rate. */
  bottleneck: number;
  /** Channel reduction of each transition. */
  compression: number;
  /** Momentum of the backbone's BatchNorm moving statistics (Keras: 0.99). */
  batchNormMomentum: number;
}

/**
 * DenseNet-121/169/201 are the published configurations (Huang et al. 2017, as
 * keras.applications builds them). The two small ones use the same blocks with
 * fewer layers, a smaller growth rate and a narrower stem:
 * - `densenet-tiny`: three dense blocks of two layers, growth 8, stem 16 filters
 *   (backbone ≈ 21 k parameters for one channel) — for tests and the demo federation.
 * - `densenet-small`: four blocks [2, 4, 6, 4], growth 16, stem 32 filters.
 * The small ones train for few steps, so their BatchNorm moving statistics use
 * momentum 0.9 (Keras' 0.99 would leave them mostly at their initial values,
 * and inference mode would then be far off from training mode).
 */
export const ARCH_CONFIGS: Record<Arch, ArchConfig> = {
  densenet121: { blocks: [6, 12, 24, 16], growthRate: 32, initialFilters: 64, bottleneck: 4, compression: 0.5, batchNormMomentum: 0.99 },
  densenet169: { blocks: [6, 12, 32, 32], growthRate: 32, initialFilters: 64, bottleneck: 4, compression: 0.5, batchNormMomentum: 0.99 },
  densenet201: { blocks: [6, 12, 48, 32], growthRate: 32, initialFilters: 64, bottleneck: 4, compression: 0.5, batchNormMomentum: 0.99 },
  'densenet-tiny': { blocks: [2, 2, 2], growthRate: 8, initialFilters: 16, bottleneck: 4, compression: 0.5, batchNormMomentum: 0.9 },
  'densenet-small': { blocks: [2, 4, 6, 4], growthRate: 16, initialFilters: 32, bottleneck: 4, compression: 0.5, batchNormMomentum: 0.9 },
};

export const HeadSpecSchema = z.object({
  /** Units of the hidden Dense layer. @default 512 */
  units: z.number().int().min(1).max(65536).default(512),
  /** Activation of the hidden Dense layer. @default 'relu' */
  activation: z.enum(HEAD_ACTIVATIONS).default('relu'),
  /** Dropout rate after the head's BatchNormalization. @default 0.3 */
  dropout: z.number().min(0).max(0.95).default(0.3),
});

export const OptimizerSpecSchema = z.object({
  /** @default 'adam' */
  name: z.enum(OPTIMIZERS).default('adam'),
  /** @default 0.001 */
  learningRate: z.number().positive().max(10).default(0.001),
});

export const ModelSpecSchema = z
  .object({
    arch: z.enum(ARCHS),
    /** Square input side in pixels. @default 224 */
    imageSize: z.number().int().min(16).max(4096).default(224),
    /** Input channels: 1 (grey) or 3 (RGB, as ImageNet weights expect). @default 3 */
    channels: z.number().int().min(1).max(4).default(3),
    /** Class names, in output order. At least two, all different. */
    classes: z.array(z.string().min(1).max(200)).min(2).max(10000),
    head: HeadSpecSchema.prefault({}),
    /** 'softmax' + categorical cross-entropy, or the study's 'sigmoid' + binary cross-entropy. @default 'softmax' */
    output: z.enum(OUTPUTS).default('softmax'),
    optimizer: OptimizerSpecSchema.prefault({}),
    /** Start with the backbone frozen (train the head only). @default false */
    freezeBackbone: z.boolean().default(false),
    /** Momentum of every BatchNorm layer's moving statistics, head included. Default: the architecture's (ARCH_CONFIGS). */
    batchNormMomentum: z.number().gt(0).lt(1).optional(),
    /**
     * Pixel normalisation the model takes: 'rescale' (x/255, the study's) or
     * 'imagenet' (x/255, minus ImageNet's mean, divided by its std, as
     * ImageNet-pretrained weights expect). Hospitals normalise with it, and a
     * saved model records it so predict and evaluate apply it. Absent: each
     * hospital's own setting (rescale unless it says otherwise).
     */
    normalize: z.enum(['rescale', 'imagenet']).optional(),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    for (const c of s.classes) {
      if (seen.has(c)) ctx.addIssue({ code: 'custom', path: ['classes'], message: `class name "${c}" appears twice` });
      seen.add(c);
    }
  });

export type ModelSpec = z.infer<typeof ModelSpecSchema>;
/** What a caller may pass: every field with a default may be left out. */
export type ModelSpecInput = z.input<typeof ModelSpecSchema>;

/** Layer names of the study's head, as Keras names them in a fresh session. */
export const HEAD_LAYERS = {
  pool: 'global_average_pooling2d',
  hidden: 'dense',
  norm: 'batch_normalization',
  dropout: 'dropout',
  out: 'dense_1',
} as const;

/** The backbone's last layer (final BatchNorm → ReLU), whose output Grad-CAM reads. */
export const BACKBONE_OUTPUT_LAYER = 'relu';
