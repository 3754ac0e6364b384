import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { kernelsFor, ptr, type WasmBackendLike } from './module';

/** One Adam step of one variable: new value, first and second moments, in one pass (`adam_step` in kernels.c). */
export const ADAM_STEP = 'FedxrayAdamStep';

interface AdamStepAttrs {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  negLearningRate: number;
}

function adamStep(args: { inputs: { x: TensorInfo; g: TensorInfo; m: TensorInfo; v: TensorInfo }; backend: unknown; attrs: AdamStepAttrs }): TensorInfo[] {
  const backend = args.backend as WasmBackendLike;
  const { x, g, m, v } = args.inputs;
  const a = args.attrs;
  const n = x.shape.reduce((p, d) => p * d, 1);
  const xo = backend.makeOutput(x.shape.slice(), 'float32');
  const mo = backend.makeOutput(x.shape.slice(), 'float32');
  const vo = backend.makeOutput(x.shape.slice(), 'float32');
  kernelsFor(backend).adam_step(
    ptr(backend, x),
    ptr(backend, g),
    ptr(backend, m),
    ptr(backend, v),
    ptr(backend, xo),
    ptr(backend, mo),
    ptr(backend, vo),
    n,
    a.beta1,
    a.oneMinusBeta1,
    a.beta2,
    a.oneMinusBeta2,
    a.oneMinusAccBeta1,
    a.oneMinusAccBeta2,
    a.epsilon,
    a.negLearningRate,
  );
  return [xo, mo, vo];
}

export const adamStepConfig: KernelConfig = { kernelName: ADAM_STEP, backendName: 'wasm', kernelFunc: adamStep as unknown as KernelFunc };

/** The fields of tfjs's AdamOptimizer this class works with (they are private in its typings). */
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];
type NamedGradient = { name: string; tensor: tf.Tensor };

interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

/**
 * tfjs's Adam, with each variable's update as one kernel where the backend has
 * ADAM_STEP (wasm with fedxray's kernels) instead of about thirteen; the same
 * float32 operations in the same order, so the same weights to the bit
 * (tested). Elsewhere it is tfjs's Adam unchanged. State, weights and config
 * are tfjs's own.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: VariableGradients): void {
    if (!tf.getKernel(ADAM_STEP, tf.getBackend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamState;
    const list = Array.isArray(variableGradients);
    const names = list ? (variableGradients as NamedGradient[]).map((v) => v.name) : Object.keys(variableGradients);
    tf.tidy(() => {
      // as tfjs: sub(1, accBeta) in float32
      const c1 = Math.fround(1 - self.accBeta1.dataSync()[0]);
      const c2 = Math.fround(1 - self.accBeta2.dataSync()[0]);
      const attrs: AdamStepAttrs = {
        beta1: self.beta1,
        oneMinusBeta1: 1 - self.beta1,
        beta2: self.beta2,
        oneMinusBeta2: 1 - self.beta2,
        oneMinusAccBeta1: c1,
        oneMinusAccBeta2: c2,
        epsilon: self.epsilon,
        negLearningRate: -self.learningRate,
      };
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = list ? (variableGradients as NamedGradient[])[i].tensor : (variableGradients as tf.NamedTensorMap)[name];
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        if (value.dtype !== 'float32' || gradient.dtype !== 'float32') throw new Error(`Adam expects float32 weights and gradients, but ${name} is ${value.dtype}/${gradient.dtype}`);
        const [nx, nm, nv] = tf.engine().runKernel(ADAM_STEP, { x: value, g: gradient, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(nm);
        v.assign(nv);
        value.assign(nx);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    this.incrementIterations();
  }
}
