#!/usr/bin/env node
// Rebuilds kernels.wasm and kernels-relaxed.wasm from kernels.c with Debian's
// clang/lld 19 (`apt-get install -y clang-19 lld-19`; CLANG=<path> picks another
// clang, 16 or newer). The built files are committed, so tests and users never
// need a compiler; run this only after changing kernels.c:
//   node libs/model/src/wasm/build-kernels.mjs
// kernels-relaxed.wasm is the same source built with relaxed SIMD, whose fused
// multiply-add the matrix products use; module.ts picks it where the runtime
// accepts it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const EXPORTS = [
  'conv_scratch_floats',
  'conv2d_filter_grad',
  'conv2d_input_grad',
  'conv2d_forward',
  'bn_train_forward',
  'bn_train_backward',
  'relu_grad',
  'flip_transpose_filter',
  'max_pool_grad',
  'copy_rows',
  'adam_step',
  '__stack_pointer',
];

function build(out, extra) {
  execFileSync(
    process.env.CLANG ?? 'clang-19',
    [
      ...extra,
      '--target=wasm32',
      '-O3',
      '-msimd128',
      '-mbulk-memory',
      '-mmutable-globals',
      '-ffp-contract=off',
      '-nostdlib',
      '-Wl,--no-entry',
      '-Wl,--import-memory',
      '-Wl,--strip-all',
      ...EXPORTS.map((e) => `-Wl,--export=${e}`),
      '-o',
      out,
      join(here, 'kernels.c'),
    ],
    { stdio: 'inherit' },
  );
  check(out);
}

// The module shares the tfjs heap, so it must not carry data segments (they
// would be written over live tensors when it is instantiated).
function check(out) {
  const bytes = readFileSync(out);
  let pos = 8;
  function leb() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[pos++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = leb();
    if (id === 11 && size > 1) throw new Error('kernels.wasm has a data section; it must not (it shares the tfjs heap)');
    pos += size;
  }
  console.log(`wrote ${out} (${bytes.length} bytes)`);
}

build(join(here, 'kernels.wasm'), []);
build(join(here, 'kernels-relaxed.wasm'), ['-mrelaxed-simd', '-DFEDXRAY_RELAXED_SIMD']);
