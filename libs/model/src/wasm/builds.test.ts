import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { kernelsVariant } from './module';

// Both builds of kernels.c (plain SIMD128 and relaxed SIMD) against direct
// loops, outside tfjs: the build a process picks is covered by kernels.test.ts,
// the other one only here.

type Exports = {
  conv_scratch_floats(kh: number, kw: number, c: number, co: number): number;
  conv2d_forward(...args: number[]): void;
  conv2d_filter_grad(...args: number[]): void;
  conv2d_input_grad(...args: number[]): void;
  __stack_pointer: WebAssembly.Global;
};

function instantiate(file: string): { k: Exports; f32: () => Float32Array } {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(new URL(file, import.meta.url))), { env: { memory } });
  const k = inst.exports as unknown as Exports;
  k.__stack_pointer.value = 65536;
  return { k, f32: () => new Float32Array(memory.buffer) };
}

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

// [N, H, W, C, CO, K, stride, pad top/left, dilation]; output sizes follow.
const CASES: [number, number, number, number, number, number, number, number, number][] = [
  [2, 6, 5, 7, 9, 1, 1, 0, 1],
  [1, 7, 8, 5, 13, 3, 1, 1, 1],
  [2, 11, 10, 6, 9, 3, 1, 1, 1],
  [1, 12, 13, 5, 7, 3, 1, 0, 1],
  [2, 9, 7, 3, 6, 3, 2, 1, 1],
  [1, 11, 11, 3, 5, 7, 2, 3, 1],
  [1, 9, 9, 4, 10, 3, 1, 2, 2],
];

function outSize(n: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((n + 2 * p - (d * (k - 1) + 1)) / s) + 1;
}

function check(file: string): void {
  const { k, f32 } = instantiate(file);
  for (const [N, H, W, C, CO, K, S, P, D] of CASES) {
    const OH = outSize(H, K, S, P, D);
    const OW = outSize(W, K, S, P, D);
    const x = rand(N * H * W * C, 1);
    const w = rand(K * K * C * CO, 2);
    const dy = rand(N * OH * OW * CO, 3);
    // Direct loops in float64.
    const y = new Float64Array(N * OH * OW * CO);
    const dw = new Float64Array(K * K * C * CO);
    const dx = new Float64Array(N * H * W * C);
    for (let n = 0; n < N; n++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++)
          for (let kh = 0; kh < K; kh++)
            for (let kw = 0; kw < K; kw++) {
              const ih = oh * S + kh * D - P;
              const iw = ow * S + kw * D - P;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (let c = 0; c < C; c++)
                for (let co = 0; co < CO; co++) {
                  const xi = ((n * H + ih) * W + iw) * C + c;
                  const wi = ((kh * K + kw) * C + c) * CO + co;
                  const yi = ((n * OH + oh) * OW + ow) * CO + co;
                  y[yi] += x[xi] * w[wi];
                  dw[wi] += x[xi] * dy[yi];
                  dx[xi] += dy[yi] * w[wi];
                }
            }
    // Lay the inputs out in the module's memory past its stack.
    let at = 65536 / 4;
    const place = (a: Float32Array | number) => {
      const len = typeof a === 'number' ? a : a.length;
      const p = at;
      if (typeof a !== 'number') f32().set(a, p);
      at += len + 4;
      return p * 4;
    };
    const px = place(x);
    const pw = place(w);
    const pdy = place(dy);
    const py = place(y.length);
    const pdw = place(dw.length);
    const pdx = place(dx.length);
    const ps = place(k.conv_scratch_floats(K, K, C, CO));
    const geom = [N, H, W, C, OH, OW, CO, K, K, S, S, D, D, P, P];
    k.conv2d_forward(px, pw, py, ps, ...geom);
    k.conv2d_filter_grad(px, pdy, pdw, ps, ...geom);
    k.conv2d_input_grad(pdy, pw, pdx, ps, ...geom);
    const label = `${file} n${N} ${H}x${W}x${C}→${CO} k${K} s${S} p${P} d${D}`;
    for (const [name, want, p] of [
      ['forward', y, py],
      ['filter gradient', dw, pdw],
      ['input gradient', dx, pdx],
    ] as const) {
      const got = f32().subarray(p / 4, p / 4 + want.length);
      let err = 0;
      let scale = 1e-12;
      for (let i = 0; i < want.length; i++) {
        err = Math.max(err, Math.abs(got[i] - want[i]));
        scale = Math.max(scale, Math.abs(want[i]));
      }
      assert.ok(err / scale <= 1e-5, `${name} ${label}: relative error ${err / scale}`);
    }
  }
}

test('the plain SIMD128 build computes convolutions and their gradients as direct loops do', () => {
  check('./kernels.wasm');
});

test('the relaxed-SIMD build computes convolutions and their gradients as direct loops do', () => {
  const bytes = readFileSync(new URL('./kernels-relaxed.wasm', import.meta.url));
  if (!WebAssembly.validate(bytes)) setFlagsFromString('--experimental-wasm-relaxed-simd');
  assert.ok(WebAssembly.validate(bytes), 'Node 20 and later accept relaxed SIMD (behind a flag before Node 22)');
  check('./kernels-relaxed.wasm');
});

test('the process runs the relaxed-SIMD build unless FEDXRAY_RELAXED_SIMD=0', () => {
  assert.equal(kernelsVariant(), process.env.FEDXRAY_RELAXED_SIMD === '0' ? 'simd128' : 'relaxed-simd');
  const module = fileURLToPath(new URL('./module.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(module)}).then((m) => console.log(m.kernelsVariant()))`], {
    env: { ...process.env, FEDXRAY_RELAXED_SIMD: '0' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'simd128');
});
