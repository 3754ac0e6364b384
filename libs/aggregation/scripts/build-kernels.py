#!/usr/bin/env python3
"""Writes src/kernels.wat (the SIMD weighted-sum kernels) and, when `wat2wasm`
(Debian package `wabt`) is installed, src/kernels-wasm.ts with the module bytes.

Run from libs/aggregation: python3 scripts/build-kernels.py
"""
import base64, pathlib, shutil, subprocess, tempfile

HEAD = '''  ;; {doc}
  (func (export "{name}") (param $pa i32) (param $pxs i32) (param $stride i32) (param $k i32)
        (param $n i32) (param $pw i32) (param $scale f64) (param $pout i32)
    (local $i i32) (local $px i32) (local $pxj i32) (local $pwj i32) (local $pwe i32) (local $a i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local $w0 v128) (local $w v128) (local $sc v128)
    (local.set $sc (f64x2.splat (local.get $scale)))
    (local.set $w0 (v128.load64_splat (local.get $pw)))
    (local.set $pwe (i32.add (local.get $pw) (i32.shl (local.get $k) (i32.const 3))))
    (block $done (loop $values
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      ;; sixteen values at a time, in eight float64 pairs; first input: S = w0 * x0
      (local.set $px (i32.add (local.get $pxs) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $s0 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $px)))))
      (local.set $s1 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $px)))))
      (local.set $s2 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $px)))))
      (local.set $s3 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $px)))))
      (local.set $s4 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $px)))))
      (local.set $s5 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $px)))))
      (local.set $s6 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $px)))))
      (local.set $s7 (f64x2.mul (local.get $w0) (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $px)))))
      ;; the other k - 1 inputs, `stride` bytes apart
      (local.set $pxj (local.get $px))
      (local.set $pwj (i32.add (local.get $pw) (i32.const 8)))
      (block $inputs_done (loop $inputs
        (br_if $inputs_done (i32.ge_u (local.get $pwj) (local.get $pwe)))
        (local.set $pxj (i32.add (local.get $pxj) (local.get $stride)))
        (local.set $w (v128.load64_splat (local.get $pwj)))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pxj))))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pxj))))))
        (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero offset=16 (local.get $pxj))))))
        (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero offset=24 (local.get $pxj))))))
        (local.set $s4 (f64x2.add (local.get $s4) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero offset=32 (local.get $pxj))))))
        (local.set $s5 (f64x2.add (local.get $s5) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero offset=40 (local.get $pxj))))))
        (local.set $s6 (f64x2.add (local.get $s6) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero offset=48 (local.get $pxj))))))
        (local.set $s7 (f64x2.add (local.get $s7) (f64x2.mul (local.get $w) (f64x2.promote_low_f32x4 (v128.load64_zero offset=56 (local.get $pxj))))))
        (local.set $pwj (i32.add (local.get $pwj) (i32.const 8)))
        (br $inputs)))
      (local.set $a (i32.add (local.get $pa) (i32.shl (local.get $i) (i32.const 3))))
'''
TAIL = '''      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $values))))
'''

def acc(q):
    return f'(v128.load offset={16 * q} (local.get $a))'


def store_acc(vals):
    return ''.join(f'      (v128.store offset={16 * q} (local.get $a) {v})\n' for q, v in enumerate(vals))


def store_out(vals):
    out = ''
    for h in range(len(vals) // 2):
        lo, hi = vals[2 * h], vals[2 * h + 1]
        out += (f'      (v128.store offset={16 * h} (i32.add (local.get $pout) (i32.shl (local.get $i) (i32.const 2)))\n'
                '        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23\n'
                f'          (f32x4.demote_f64x2_zero {lo}) (f32x4.demote_f64x2_zero {hi})))\n')
    return out


ACC = 8  # float64 pairs a step, 16 values: measured faster than 8 values with two threads folding at once
S = [f'(local.get $s{q})' for q in range(ACC)]
KERNELS = [
    ('foldSet', 'acc[i] = S', store_acc(S)),
    ('foldAdd', 'acc[i] += S', store_acc([f'(f64x2.add {S[q]} {acc(q)})' for q in range(ACC)])),
    ('foldSetOut', 'out[i] = f32(S * scale)', store_out([f'(f64x2.mul (local.get $sc) {S[q]})' for q in range(ACC)])),
    ('foldAddOut', 'out[i] = f32((acc[i] + S) * scale)', store_out([f'(f64x2.mul (local.get $sc) (f64x2.add {S[q]} {acc(q)}))' for q in range(ACC)])),
]

SCALE_OUT = '''  ;; out[i] = f32(acc[i] * scale): finishing when nothing is pending
  (func (export "scaleOut") (param $pa i32) (param $n i32) (param $scale f64) (param $pout i32)
    (local $i i32) (local $a i32) (local $sc v128)
    (local.set $sc (f64x2.splat (local.get $scale)))
    (block $done (loop $values
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $a (i32.add (local.get $pa) (i32.shl (local.get $i) (i32.const 3))))
''' + store_out([f'(f64x2.mul (local.get $sc) {acc(q)})' for q in range(ACC)]) + TAIL

PREAMBLE = ''';; Weighted-sum kernels for streaming aggregation (generated by scripts/build-kernels.py).
;; S = sum over j < k of w[j] * x_j[i], with x_j float32 inputs `stride` bytes apart starting
;; at pxs, w[j] float64 at pw, acc float64 at pa, out float32 at pout; n is a multiple of 16
;; and every pointer 16-byte aligned. Sums are formed and kept in float64. The memory is
;; shared so that a second thread can run the kernels on the same inputs (fold-worker.js).
(module
  (import "env" "memory" (memory 1 32768 shared))
'''

src = PREAMBLE + ''.join(HEAD.format(name=n, doc=d) + body + TAIL for n, d, body in KERNELS) + SCALE_OUT + ')\n'
here = pathlib.Path(__file__).resolve().parent.parent
(here / 'src' / 'kernels.wat').write_text(src)
if shutil.which('wat2wasm'):
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / 'k.wasm'
        subprocess.run(['wat2wasm', '--enable-threads', str(here / 'src' / 'kernels.wat'), '-o', str(out)], check=True)
        b64 = base64.b64encode(out.read_bytes()).decode()
    lines = [b64[i:i + 100] for i in range(0, len(b64), 100)]
    body = '\n'.join(f"  '{l}' +" for l in lines)[:-2]
    (here / 'src' / 'kernels-wasm.ts').write_text(
        '// The bytes of kernels.wat, assembled by scripts/build-kernels.py (wat2wasm from wabt).\n'
        '// Regenerate after editing the generator; never edit by hand.\n'
        f'export const KERNELS_WASM_BASE64 =\n{body};\n')
    print('wrote src/kernels.wat and src/kernels-wasm.ts')
else:
    print('wrote src/kernels.wat; wat2wasm not found, src/kernels-wasm.ts left as it was')
