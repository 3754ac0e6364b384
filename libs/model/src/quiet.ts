import * as tf from '@tensorflow/tfjs';

/**
 * tfjs's cpu backend prints a banner recommending tfjs-node on its first use in
 * Node. fedxray chooses its backend deliberately (and `initBackend` says which),
 * so the banner is noise in every command's output. Production mode silences
 * tfjs's warnings (and skips its debug-only checks) in this process or thread.
 */
tf.env().set('PROD', true);
