import { createHash } from 'node:crypto';
import type { NamedWeights } from '@fedxray/protocol';
import { HEAD_LAYERS } from './spec';

/**
 * SHA-256 (hex) over named tensors in the order given (manifest order): for
 * each, its name, a NUL, its shape joined by commas, a NUL, then its values
 * as little-endian float32. Equal hashes mean the same names, shapes and
 * bits in the same order.
 */
export function hashNamedWeights(weights: NamedWeights): string {
  const h = createHash('sha256');
  const le = new Float32Array(new Uint8Array([0, 0, 128, 63]).buffer)[0] === 1;
  for (const w of weights) {
    h.update(`${w.name}\0${w.shape.join(',')}\0`);
    const bytes = new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength);
    if (le) h.update(bytes);
    else {
      const copy = new Uint8Array(bytes.length);
      const view = new DataView(copy.buffer);
      w.values.forEach((v, i) => view.setFloat32(i * 4, v, true));
      h.update(copy);
    }
  }
  return h.digest('hex');
}

const HEAD_NAMES: ReadonlySet<string> = new Set(Object.values(HEAD_LAYERS));

/** Whether a weight name (`<layer>/<weight>`) belongs to the backbone rather than the study's head. */
export function isBackboneWeight(name: string): boolean {
  return !HEAD_NAMES.has(name.slice(0, name.lastIndexOf('/')));
}

/**
 * The hash of the backbone's tensors alone (moving statistics included): what
 * pooled features depend on. Head training leaves it unchanged.
 */
export function backboneHash(weights: NamedWeights): string {
  return hashNamedWeights(weights.filter((w) => isBackboneWeight(w.name)));
}
