import * as tf from '@tensorflow/tfjs';
import { ModelError } from '../errors';

/** One call of a layer in a functional model, in execution order. */
export interface GraphStep {
  layer: tf.layers.Layer;
  /** Ids of the symbolic tensors the call takes. */
  inputs: number[];
  /** Ids of the symbolic tensors it produces, by output index. */
  outputs: number[];
  /** Ids whose last consumer is this call: freed right after it. */
  free: number[];
}

/** A functional model's layer calls in topological order, with each tensor's last consumer. */
export interface GraphPlan {
  input: number;
  output: number;
  steps: GraphStep[];
  /** Per-example shape (batch axis dropped) of every symbolic tensor, by id. */
  shapes: Map<number, number[]>;
}

const plans = new WeakMap<tf.LayersModel, GraphPlan>();

/** Symbolic tensors reachable backwards from `output`, inputs before the tensors made from them. */
function topologicalOrder(output: tf.SymbolicTensor): tf.SymbolicTensor[] {
  const order: tf.SymbolicTensor[] = [];
  const done = new Set<number>();
  const stack: { t: tf.SymbolicTensor; expanded: boolean }[] = [{ t: output, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (done.has(top.t.id)) {
      stack.pop();
      continue;
    }
    if (top.expanded || top.t.inputs.length === 0) {
      stack.pop();
      done.add(top.t.id);
      order.push(top.t);
      continue;
    }
    top.expanded = true;
    for (const i of top.t.inputs) if (!done.has(i.id)) stack.push({ t: i, expanded: false });
  }
  return order;
}

/**
 * The execution plan of a single-input, single-output functional model
 * (cached per model): every layer call once, in an order where each call's
 * inputs exist, and for every intermediate tensor the call after which
 * nothing needs it any more.
 */
export function graphPlan(model: tf.LayersModel): GraphPlan {
  const cached = plans.get(model);
  if (cached) return cached;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new ModelError(`Expected a model with one input and one output, but got ${model.inputs.length} inputs and ${model.outputs.length} outputs`);
  }
  const input = model.inputs[0];
  const output = model.outputs[0];
  const shapes = new Map<number, number[]>();
  const steps: GraphStep[] = [];
  const stepOf = new Map<string, GraphStep>();
  for (const t of topologicalOrder(output)) {
    shapes.set(
      t.id,
      t.shape.slice(1).map((d) => d ?? 1),
    );
    if (t.id === input.id) continue;
    if (t.inputs.length === 0) throw new ModelError(`Tensor ${t.name} has no inputs and is not the model's input`);
    const key = `${t.sourceLayer.name}#${t.nodeIndex}`;
    let step = stepOf.get(key);
    if (!step) {
      step = { layer: t.sourceLayer, inputs: t.inputs.map((i) => i.id), outputs: [], free: [] };
      stepOf.set(key, step);
      steps.push(step);
    }
    step.outputs[t.outputTensorIndex ?? 0] = t.id;
  }
  const lastUse = new Map<number, number>();
  steps.forEach((s, i) => {
    for (const id of s.inputs) lastUse.set(id, i);
  });
  for (const [id, i] of lastUse) if (id !== input.id && id !== output.id) steps[i].free.push(id);
  const plan = { input: input.id, output: output.id, steps, shapes };
  plans.set(model, plan);
  return plan;
}

/** Replaces a layer's own call for one step; returns null to let the layer run as usual. */
export type LayerOverride = (layer: tf.layers.Layer, inputs: tf.Tensor[]) => tf.Tensor | null;

export interface RunGraphOptions {
  /** Passed to every layer. @default false */
  training?: boolean;
  override?: LayerOverride;
}

/**
 * Runs the model on `x` one layer call at a time, disposing every
 * intermediate tensor as soon as its last consumer has run, so that only the
 * tensors still needed are alive — tfjs-layers keeps every intermediate of
 * `model.apply` until its `tf.tidy` ends. Returns the output (the caller
 * disposes it); `x` stays the caller's.
 */
export function runGraph(model: tf.LayersModel, x: tf.Tensor, options: RunGraphOptions = {}): tf.Tensor {
  const plan = graphPlan(model);
  const kwargs = { training: options.training ?? false };
  const values = new Map<number, tf.Tensor>([[plan.input, x]]);
  // A layer may hand back its input itself (Dropout in inference): count holders per tensor object.
  const holders = new Map<tf.Tensor, number>([[x, 1]]);
  const hold = (id: number, t: tf.Tensor) => {
    values.set(id, t);
    holders.set(t, (holders.get(t) ?? 0) + 1);
  };
  const release = (id: number) => {
    const t = values.get(id);
    if (!t) return;
    values.delete(id);
    const left = holders.get(t)! - 1;
    if (left > 0) holders.set(t, left);
    else {
      holders.delete(t);
      if (t !== x) t.dispose();
    }
  };
  try {
    for (const step of plan.steps) {
      const inputs = step.inputs.map((id) => values.get(id)!);
      const out = tf.tidy(() => {
        const own = options.override?.(step.layer, inputs) ?? null;
        return own ?? (step.layer.apply(inputs.length === 1 ? inputs[0] : inputs, kwargs) as tf.Tensor | tf.Tensor[]);
      });
      const outs = Array.isArray(out) ? out : [out];
      outs.forEach((t, i) => {
        const id = step.outputs[i];
        if (id !== undefined) hold(id, t);
      });
      // outputs of a multi-output layer that nothing reads
      for (const t of outs) if (!holders.has(t)) t.dispose();
      for (const id of step.free) release(id);
    }
    const result = values.get(plan.output)!;
    values.delete(plan.output);
    return result;
  } finally {
    for (const id of [...values.keys()]) release(id);
  }
}
