const BN_WEIGHTS = new Set(['gamma', 'beta', 'moving_mean', 'moving_variance']);

/** A tensor name's last path segment without a `:0` suffix (`conv1/bn/moving_mean:0` → `moving_mean`). */
function leafName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1).replace(/:\d+$/, '');
}

/**
 * True for a Keras BatchNormalization weight (`…/gamma`, `…/beta`, `…/moving_mean`,
 * `…/moving_variance`, with or without a `:0` suffix): the tensors FedBN keeps local.
 */
export function isBatchNormTensor(name: string): boolean {
  return BN_WEIGHTS.has(leafName(name));
}

/**
 * True for a BatchNorm moving statistic (`…/moving_mean`, `…/moving_variance`):
 * measured on data, not trained, so a server step does not extrapolate it.
 */
export function isBatchNormStatistic(name: string): boolean {
  const leaf = leafName(name);
  return leaf === 'moving_mean' || leaf === 'moving_variance';
}
