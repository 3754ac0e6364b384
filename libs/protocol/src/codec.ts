import { crc32 } from './checksum';
import { decodeFloat16, encodeFloat16 } from './float16';
import { ProtocolError } from './errors';
import { sizeOf, type NamedWeights, type TensorSpec, type WireDtype } from './weights';

/**
 * Weights on the wire: every tensor packed back to back in one little-endian
 * binary buffer, described by a manifest of names, shapes and dtypes, guarded
 * by a CRC-32. socket.io sends `data` as one binary attachment.
 */
export interface WeightsPayload {
  manifest: TensorSpec[];
  byteLength: number;
  checksum: number;
  data: Uint8Array;
}

export interface EncodeOptions {
  /** float16 halves the bytes; values are rounded to nearest even. @default 'float32' */
  dtype?: WireDtype;
}

const BYTES: Record<WireDtype, number> = { float32: 4, float16: 2 };

export function payloadBytes(manifest: readonly TensorSpec[]): number {
  let n = 0;
  for (const t of manifest) n += sizeOf(t.shape) * BYTES[t.dtype];
  return n;
}

export function encodeWeights(weights: NamedWeights, options: EncodeOptions = {}): WeightsPayload {
  const dtype = options.dtype ?? 'float32';
  const manifest: TensorSpec[] = weights.map((w) => {
    if (w.values.length !== sizeOf(w.shape)) {
      throw new ProtocolError(
        'shape_mismatch',
        `Tensor ${w.name}: shape [${w.shape.join(',')}] holds ${sizeOf(w.shape)} values, but got ${w.values.length}`,
      );
    }
    return { name: w.name, shape: [...w.shape], dtype };
  });
  const byteLength = payloadBytes(manifest);
  const buffer = new ArrayBuffer(byteLength);
  let offset = 0;
  for (const w of weights) {
    if (dtype === 'float32') {
      new Float32Array(buffer, offset, w.values.length).set(w.values);
    } else {
      encodeFloat16(w.values, new Uint16Array(buffer, offset, w.values.length));
    }
    offset += w.values.length * BYTES[dtype];
  }
  const data = new Uint8Array(buffer);
  return { manifest, byteLength, checksum: crc32(data), data };
}

/**
 * Where `decodeWeights` writes a tensor: an array of exactly `size` values, or
 * undefined to let it view or allocate one itself.
 */
export type DecodeTarget = (name: string, size: number) => Float32Array | undefined;

/**
 * Unpacks a payload into named float32 tensors. Refuses a payload whose byte
 * count disagrees with its manifest or whose checksum does not match. The
 * tensors may view the payload's memory: do not reuse `data` afterwards.
 * With `into`, a tensor is written to the array `into` gives for it (a copy,
 * e.g. straight into an aggregator's memory) instead.
 */
export function decodeWeights(payload: WeightsPayload, into?: DecodeTarget): NamedWeights {
  const expected = payloadBytes(payload.manifest);
  if (payload.byteLength !== expected || payload.data.byteLength !== expected) {
    throw new ProtocolError(
      'bad_weights',
      `Expected ${expected} bytes for the manifest's ${payload.manifest.length} tensors, but got ${payload.data.byteLength} (declared ${payload.byteLength})`,
    );
  }
  const sum = crc32(payload.data);
  if (sum !== payload.checksum) {
    throw new ProtocolError('checksum_mismatch', `Weights checksum mismatch: declared ${payload.checksum}, computed ${sum}`);
  }
  // Tensors are viewed in place when the buffer is 4-byte aligned (a socket's
  // message buffer usually is); otherwise copied once into an aligned one.
  let bytes = payload.data;
  if (bytes.byteOffset % 4 !== 0) {
    bytes = new Uint8Array(expected);
    bytes.set(payload.data);
  }
  const out: NamedWeights = [];
  let offset = 0;
  for (const t of payload.manifest) {
    const n = sizeOf(t.shape);
    let values: Float32Array;
    const target = into?.(t.name, n);
    if (target && target.length !== n) {
      throw new ProtocolError('shape_mismatch', `Decode target for ${t.name} holds ${target.length} values, but the tensor has ${n}`);
    }
    if (target && t.dtype === 'float32') {
      target.set(new Float32Array(bytes.buffer, bytes.byteOffset + offset, n));
      values = target;
    } else if (target) {
      decodeFloat16(new Uint16Array(bytes.buffer, bytes.byteOffset + offset, n), target);
      values = target;
    } else if (t.dtype === 'float32') {
      values = offset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset + offset, n) : new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + n * 4));
    } else {
      values = new Float32Array(n);
      const at = bytes.byteOffset + offset;
      const halves = at % 2 === 0 ? new Uint16Array(bytes.buffer, at, n) : new Uint16Array(bytes.buffer.slice(at, at + n * 2));
      decodeFloat16(halves, values);
    }
    out.push({ name: t.name, shape: [...t.shape], values });
    offset += n * BYTES[t.dtype];
  }
  return out;
}
