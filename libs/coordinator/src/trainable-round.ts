// What trains in a round, for the coordinator: the setting sent to hospitals
// and the tensors that stay frozen. Frozen tensors are not expected back, not
// aggregated and not recalibrated: the global model keeps them as they are.
import { overlayWeights, type NamedWeights } from '@fedxray/protocol';
import { formatTrainable, planTrainable, trainableForRound, type ModelSpec, type ScheduleEntry } from '@fedxray/model';

export interface RoundTensors {
  /** The setting hospitals train under (absent: the model as built). */
  trainable?: string;
  /** Tensors that do not change this round. */
  frozen: ReadonlySet<string>;
}

const NOTHING_FROZEN: RoundTensors = { frozen: new Set() };

/** Round `round`'s setting and frozen tensors under `schedule` (null schedule: nothing frozen by the run). */
export function roundTensors(schedule: readonly ScheduleEntry[] | null, spec: ModelSpec, round: number): RoundTensors {
  if (!schedule) return NOTHING_FROZEN;
  const setting = trainableForRound(schedule, round);
  return { trainable: formatTrainable(setting), frozen: new Set(planTrainable(spec, setting).frozen) };
}

/**
 * Whether a run resumed after round `completed` restores the server
 * optimizer's state (FedAdam's moments, FedAvgM's momentum) from the
 * checkpoint: only when the next round trains the same tensors. At a schedule
 * switch a live run restarts that state (the trained set changed, as when
 * Keras recompiles), so a resumed one does the same rather than refuse the
 * state's names.
 */
export function restoresServerState(schedule: readonly ScheduleEntry[] | null, spec: ModelSpec, completed: number): boolean {
  return roundTensors(schedule, spec, completed).trainable === roundTensors(schedule, spec, completed + 1).trainable;
}

/** `weights` without the frozen tensors (the same list when none is frozen). */
export function withoutFrozen(weights: NamedWeights, frozen: ReadonlySet<string>): NamedWeights {
  return frozen.size === 0 ? weights : weights.filter((t) => !frozen.has(t.name));
}

/** The whole model: `trained` where it has a tensor, `global`'s frozen tensors elsewhere, in `global`'s order. */
export function withFrozen(trained: NamedWeights, global: NamedWeights, frozen: ReadonlySet<string>): NamedWeights {
  return frozen.size === 0 ? trained : overlayWeights(global, trained);
}
