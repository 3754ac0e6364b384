import type * as tf from '@tensorflow/tfjs';

const done = new WeakSet<tf.layers.Layer>();

type Call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/**
 * Makes every BatchNormalization layer of `model` whose `trainable` is false
 * run in inference mode (moving statistics, no update), whatever `training`
 * the caller passes — Keras' rule for frozen BatchNorm, which tfjs-layers
 * does not follow by itself. Layers that train are unaffected. Idempotent.
 */
export function freezeBatchNormWithLayer(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization' || done.has(layer)) continue;
    const own = layer as unknown as { call: Call };
    const call = own.call.bind(layer);
    own.call = (inputs, kwargs) => call(inputs, layer.trainable || !kwargs?.training ? kwargs : { ...kwargs, training: false });
    done.add(layer);
  }
}
