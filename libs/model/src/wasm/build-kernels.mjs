#!/usr/bin/env node
// Rebuilds kernels.wasm from kernels.c with Debian's clang/lld
// (`apt-get install -y clang lld`). The built file is committed, so tests and
// users never need a compiler; run this only after changing kernels.c:
//   node libs/model/src/wasm/build-kernels.mjs
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const EXPORTS = [
  'conv_scratch_floats',
  'conv2d_filter_grad',
  'conv2d_input_grad',
  'bn_train_forward',
  'bn_train_backward',
  'relu_grad',
  'flip_transpose_filter',
  'max_pool_grad',
  'copy_rows',
  'adam_step',
  '__stack_pointer',
];
const out = join(here, 'kernels.wasm');
execFileSync(
  process.env.CLANG ?? 'clang',
  [
    '--target=wasm32',
    '-O3',
    '-msimd128',
    '-mbulk-memory',
    '-mmutable-globals',
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

// The module shares the tfjs heap, so it must not carry data segments (they
// would be written over live tensors when it is instantiated).
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
