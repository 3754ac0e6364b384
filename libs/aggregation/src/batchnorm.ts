const BN_WEIGHTS = new Set(['gamma', 'beta', 'moving_mean', 'moving_variance']);

/**
 * True for a Keras BatchNormalization weight (`…/gamma`, `…/beta`, `…/moving_mean`,
 * `…/moving_variance`, with or without a `:0` suffix): the tensors FedBN keeps local.
 */
export function isBatchNormTensor(name: string): boolean {
  const last = name.slice(name.lastIndexOf('/') + 1).replace(/:\d+$/, '');
  return BN_WEIGHTS.has(last);
}

/**
 * True for a BatchNorm moving statistic (`…/moving_mean`, `…/moving_variance`):
 * measured on data, not trained, so a server step does not extrapolate it.
 */
export function isBatchNormStatistic(name: string): boolean {
  const last = name.slice(name.lastIndexOf('/') + 1).replace(/:\d+$/, '');
  return last === 'moving_mean' || last === 'moving_variance';
}
