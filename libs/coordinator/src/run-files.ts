// A run's folder: checkpoints with the strategy's server state, the hospitals'
// last local models (for cross-site evaluation), JSON results and the final model.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWeights, encodeWeights, type NamedWeights, type WeightsPayload } from '@fedxray/protocol';
import { getNamedWeights, loadModel, saveModel, setNamedWeights, type ModelSpec } from '@fedxray/model';
import { writeFileAtomic } from '@fedxray/runtime';

/** Checkpoints kept: the last few rounds' (older ones are removed). */
const KEEP_CHECKPOINTS = 3;

/** The tfjs model the files are written from (built by @fedxray/model). */
type LayersModel = Parameters<typeof saveModel>[0];

function writeWeights(path: string, weights: NamedWeights | WeightsPayload): void {
  const p = 'data' in weights ? weights : encodeWeights(weights);
  writeFileAtomic(`${path}.bin`, p.data);
  // The head is written last: a file set without its head is never read.
  writeFileAtomic(`${path}.json`, JSON.stringify({ manifest: p.manifest, byteLength: p.byteLength, checksum: p.checksum }));
}

function readWeights(path: string): NamedWeights {
  const head = JSON.parse(readFileSync(`${path}.json`, 'utf8'));
  return decodeWeights({ ...head, data: new Uint8Array(readFileSync(`${path}.bin`)) });
}

export class RunFiles {
  constructor(
    readonly runDir: string,
    private readonly runId: string,
    private readonly spec: ModelSpec,
    private readonly model: LayersModel,
  ) {
    mkdirSync(join(runDir, 'checkpoints'), { recursive: true });
  }

  /**
   * Writes round `round`'s global model as a checkpoint (saved atomically),
   * with the strategy's server state (FedAdam moments, FedAvgM momentum)
   * beside it so a resumed run continues it. Returns the checkpoint's folder.
   */
  async checkpoint(round: number, global: NamedWeights, strategyState: NamedWeights): Promise<string> {
    const dir = join(this.runDir, 'checkpoints', `round-${String(round).padStart(4, '0')}`);
    setNamedWeights(this.model, global);
    await saveModel(this.model, dir, { spec: this.spec, runId: this.runId, round });
    if (strategyState.length > 0) writeWeights(join(dir, 'strategy-state'), strategyState);
    return dir;
  }

  /** A checkpoint's global weights, and the strategy state saved with it (null if none). */
  async readCheckpoint(dir: string): Promise<{ global: NamedWeights; strategyState: NamedWeights | null }> {
    const { model } = await loadModel(dir);
    const global = getNamedWeights(model);
    model.dispose();
    const state = join(dir, 'strategy-state');
    return { global, strategyState: existsSync(`${state}.json`) ? readWeights(state) : null };
  }

  /** The weights the model was built with (the run's initial global model). */
  initialWeights(): NamedWeights {
    return getNamedWeights(this.model);
  }

  /** Removes checkpoints older than the last few. */
  prune(round: number): void {
    const dir = join(this.runDir, 'checkpoints');
    for (const name of readdirSync(dir)) {
      const m = /^round-(\d+)$/.exec(name);
      if (m && Number(m[1]) <= round - KEEP_CHECKPOINTS) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }

  /** A hospital's last local model, kept for cross-site evaluation. */
  keepLocalModel(hospital: string, payload: WeightsPayload): void {
    const dir = join(this.runDir, 'local');
    mkdirSync(dir, { recursive: true });
    writeWeights(join(dir, hospital), payload);
  }

  /** The local models kept, by hospital name (in name order). */
  localModels(): { owner: string; weights: () => NamedWeights }[] {
    const dir = join(this.runDir, 'local');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -5))
      .sort()
      .map((owner) => ({ owner, weights: () => readWeights(join(dir, owner)) }));
  }

  /** Writes `<runDir>/<name>` as JSON, atomically. */
  writeJson(name: string, value: unknown, pretty = false): void {
    writeFileAtomic(join(this.runDir, name), JSON.stringify(value, null, pretty ? 2 : undefined));
  }

  readJson<T>(name: string): T | undefined {
    const p = join(this.runDir, name);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as T) : undefined;
  }

  /** Saves the final global model as `<runDir>/model` and returns its folder. */
  async saveModel(global: NamedWeights, rounds: number): Promise<string> {
    const dir = join(this.runDir, 'model');
    setNamedWeights(this.model, global);
    await saveModel(this.model, dir, { spec: this.spec, runId: this.runId, round: rounds });
    return dir;
  }

  /** The folder of the final model if saved, else null. */
  modelDir(): string | null {
    const m = join(this.runDir, 'model');
    return existsSync(join(m, 'model.json')) ? m : null;
  }

  dispose(): void {
    this.model.dispose();
  }
}
