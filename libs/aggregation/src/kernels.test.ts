import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wasmKernelsAvailable } from './kernels';
import { KERNELS_WASM_BASE64 } from './kernels-wasm';

test('the SIMD kernels load in this runtime', () => {
  assert.equal(wasmKernelsAvailable(), true);
});

const hasWat2wasm = spawnSync('wat2wasm', ['--version']).status === 0;

test('kernels-wasm.ts holds the bytes of kernels.wat', { skip: hasWat2wasm ? false : 'wat2wasm (Debian wabt) is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedxray-kernels-'));
  try {
    const out = join(dir, 'k.wasm');
    const r = spawnSync('wat2wasm', ['--enable-threads', fileURLToPath(new URL('./kernels.wat', import.meta.url)), '-o', out]);
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(readFileSync(out).toString('base64'), KERNELS_WASM_BASE64);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
