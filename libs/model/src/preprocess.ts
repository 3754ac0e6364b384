import { ModelError } from './errors';
import type { SavedPreprocessing, WeightsSource } from './starting-weights';

export type Normalize = 'rescale' | 'imagenet';

/** Channels and pixel normalisation to train with, and the log line that says why. */
export interface Preprocessing {
  channels: 1 | 3;
  normalize: Normalize;
  log: string;
}

/** What the user asked for; absent fields are chosen to fit the weights. */
export interface RequestedPreprocessing {
  channels?: number;
  normalize?: Normalize;
}

/** ImageNet statistics of keras.applications.densenet.preprocess_input (mode 'torch'). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

function describe(channels: number, normalize: Normalize): string {
  const c = channels === 3 ? '3 channels (grayscale X-rays replicated to RGB)' : '1 channel';
  const n =
    normalize === 'imagenet'
      ? `ImageNet normalisation (x/255, minus mean [${IMAGENET_MEAN.join(', ')}], divided by std [${IMAGENET_STD.join(', ')}])`
      : 'rescale x/255 only';
  return `${c}, ${n}`;
}

function channelsOf(n: number | undefined, fallback: 1 | 3): 1 | 3 {
  if (n === undefined) return fallback;
  if (n !== 1 && n !== 3) throw new ModelError(`Expected channels 1 or 3, but got ${n}`);
  return n;
}

/**
 * Sets or checks channels and normalisation for the starting weights:
 * - `imagenet`: 3 channels (1 is refused) and ImageNet normalisation, as
 *   keras.applications.densenet.preprocess_input does (mode 'torch': scale to
 *   [0, 1], subtract the ImageNet mean, divide by its std). The study's own
 *   1/255-only rescaling stays available with `normalize: 'rescale'`, and the
 *   log says it differs from what the weights were trained with.
 * - a model folder that records its preprocessing: the same channels (another
 *   count is refused) and its normalisation unless another is asked for.
 * - `random` and Keras files: what was asked for, else 3 channels and rescale.
 */
export function preprocessingFor(source: WeightsSource, requested: RequestedPreprocessing = {}, saved?: SavedPreprocessing): Preprocessing {
  if (source.kind === 'imagenet') {
    if (requested.channels !== undefined && requested.channels !== 3) {
      throw new ModelError(`ImageNet weights expect 3 input channels, but ${requested.channels} was asked for: leave channels at 3 (grayscale X-rays are replicated to RGB)`);
    }
    const normalize = requested.normalize ?? 'imagenet';
    const why = normalize === 'imagenet' ? 'as keras.applications.densenet.preprocess_input' : "as the study did; ImageNet's own preprocessing would subtract the mean and divide by the std";
    return { channels: 3, normalize, log: `weights imagenet: ${describe(3, normalize)}, ${why}` };
  }
  if (source.kind === 'folder' && saved) {
    const channels = channelsOf(saved.channels, 3);
    if (requested.channels !== undefined && requested.channels !== channels) {
      throw new ModelError(`The model in ${source.path} takes ${channels} channel(s), but ${requested.channels} was asked for`);
    }
    const normalize = requested.normalize ?? saved.normalize ?? 'rescale';
    const differs = saved.normalize && saved.normalize !== normalize ? ` (it was trained with ${saved.normalize})` : '';
    return { channels, normalize, log: `weights ${source.path}: ${describe(channels, normalize)}${differs}` };
  }
  const channels = channelsOf(requested.channels, 3);
  const normalize = requested.normalize ?? 'rescale';
  const name = source.kind === 'random' ? 'random' : source.path;
  return { channels, normalize, log: `weights ${name}: ${describe(channels, normalize)}` };
}
