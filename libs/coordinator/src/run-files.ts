// A run's folder: checkpoints with the strategy's server state, the hospitals'
// last local models (for cross-site evaluation), JSON results and the final model.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWeights, encodeWeights, type NamedWeights, type WeightsPayload } from '@fedxray/protocol';
import { getNamedWeights, loadModel, saveModel, setNamedWeights, type ModelSpec } from '@fedxray/model';
import { writeDirAtomic, writeFileAtomic } from '@fedxray/runtime';
import { verifyCheckpoint, writeCheckpointManifest } from './checkpoint-manifest';

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
   * beside it so a resumed run continues it, and last a manifest with every
   * file's SHA-256 (checkpoint.json). Returns the checkpoint's folder.
   */
  async checkpoint(round: number, global: NamedWeights, strategyState: NamedWeights): Promise<string> {
    const dir = this.checkpointDir(round);
    setNamedWeights(this.model, global);
    await writeDirAtomic(dir, async (tmp) => {
      await saveModel(this.model, tmp, { spec: this.spec, runId: this.runId, round });
      if (strategyState.length > 0) writeWeights(join(tmp, 'strategy-state'), strategyState);
      writeCheckpointManifest(tmp, round);
    });
    return dir;
  }

  checkpointDir(round: number): string {
    return join(this.runDir, 'checkpoints', `round-${String(round).padStart(4, '0')}`);
  }

  /** The rounds whose checkpoint folders are on disk, newest first. */
  checkpointRounds(): number[] {
    const dir = join(this.runDir, 'checkpoints');
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .map((name) => /^round-(\d+)$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
  }

  /**
   * A checkpoint's global weights, and the strategy state saved with it (null
   * if none), after checking every file against the manifest's checksums
   * (throws a CheckpointError when one is missing, truncated or altered).
   * `verified` is false for a checkpoint written without a manifest.
   */
  async readCheckpoint(dir: string): Promise<{ global: NamedWeights; strategyState: NamedWeights | null; verified: boolean }> {
    const verified = verifyCheckpoint(dir);
    const { model } = await loadModel(dir);
    const global = getNamedWeights(model);
    model.dispose();
    const state = join(dir, 'strategy-state');
    return { global, strategyState: existsSync(`${state}.json`) ? readWeights(state) : null, verified };
  }

  /** The weights the model was built with (the run's initial global model). */
  initialWeights(): NamedWeights {
    return getNamedWeights(this.model);
  }

  /** Removes checkpoints older than the last few. */
  prune(round: number): void {
    for (const r of this.checkpointRounds()) if (r <= round - KEEP_CHECKPOINTS) rmSync(this.checkpointDir(r), { recursive: true, force: true });
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
