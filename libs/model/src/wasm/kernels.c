// Training kernels for the tfjs wasm backend, compiled to WebAssembly SIMD
// (build-kernels.mjs). The module imports the tfjs backend's own memory, so
// every pointer below is a byte offset into the tfjs wasm heap: tensors are
// read and written in place, without copies.
//
// Layout conventions follow tfjs: activations NHWC, filters [KH, KW, CI, CO].
// The module has no data segments and keeps no state between calls.
#include <wasm_simd128.h>

typedef v128_t f4;
#define LD(p) wasm_v128_load(p)
#define ST(p, v) wasm_v128_store((p), (v))
#define SPLAT(p) wasm_v128_load32_splat(p)
#define ADD wasm_f32x4_add
#define MUL wasm_f32x4_mul
#define ZERO wasm_f32x4_splat(0.0f)
// acc + a * b. In the relaxed-SIMD build (kernels-relaxed.wasm) this is one
// fused multiply-add where the CPU has one, whose rounding may differ from the
// two-operation form in the last bit; no caller depends on that bit.
#ifdef FEDXRAY_RELAXED_SIMD
#define MADD(acc, a, b) wasm_f32x4_relaxed_madd((a), (b), (acc))
#else
#define MADD(acc, a, b) ADD((acc), MUL((a), (b)))
#endif

static void fill_zero(float* p, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) ST(p + i, ZERO);
  for (; i < n; i++) p[i] = 0.0f;
}

// C[m][n] += sum_p A[p][m] * B[p][n]   (A: P x M, lda; B: P x N, ldb; C: M x N, ldc)
static void gemm_atb(const float* A, int lda, const float* B, int ldb, float* C, int ldc,
                     int P, int M, int N) {
  int m0 = 0;
  for (; m0 + 4 <= M; m0 += 4) {
    int n0 = 0;
    for (; n0 + 8 <= N; n0 += 8) {
      float* c0 = C + (m0 + 0) * ldc + n0;
      float* c1 = C + (m0 + 1) * ldc + n0;
      float* c2 = C + (m0 + 2) * ldc + n0;
      float* c3 = C + (m0 + 3) * ldc + n0;
      f4 a00 = LD(c0), a01 = LD(c0 + 4), a10 = LD(c1), a11 = LD(c1 + 4);
      f4 a20 = LD(c2), a21 = LD(c2 + 4), a30 = LD(c3), a31 = LD(c3 + 4);
      const float* a = A + m0;
      const float* b = B + n0;
      for (int p = 0; p < P; p++, a += lda, b += ldb) {
        f4 b0 = LD(b), b1 = LD(b + 4);
        f4 x0 = SPLAT(a), x1 = SPLAT(a + 1), x2 = SPLAT(a + 2), x3 = SPLAT(a + 3);
        a00 = MADD(a00, x0, b0); a01 = MADD(a01, x0, b1);
        a10 = MADD(a10, x1, b0); a11 = MADD(a11, x1, b1);
        a20 = MADD(a20, x2, b0); a21 = MADD(a21, x2, b1);
        a30 = MADD(a30, x3, b0); a31 = MADD(a31, x3, b1);
      }
      ST(c0, a00); ST(c0 + 4, a01); ST(c1, a10); ST(c1 + 4, a11);
      ST(c2, a20); ST(c2 + 4, a21); ST(c3, a30); ST(c3 + 4, a31);
    }
    for (; n0 + 4 <= N; n0 += 4) {
      float* c0 = C + (m0 + 0) * ldc + n0;
      float* c1 = C + (m0 + 1) * ldc + n0;
      float* c2 = C + (m0 + 2) * ldc + n0;
      float* c3 = C + (m0 + 3) * ldc + n0;
      f4 a0 = LD(c0), a1 = LD(c1), a2 = LD(c2), a3 = LD(c3);
      const float* a = A + m0;
      const float* b = B + n0;
      for (int p = 0; p < P; p++, a += lda, b += ldb) {
        f4 b0 = LD(b);
        a0 = MADD(a0, SPLAT(a), b0); a1 = MADD(a1, SPLAT(a + 1), b0);
        a2 = MADD(a2, SPLAT(a + 2), b0); a3 = MADD(a3, SPLAT(a + 3), b0);
      }
      ST(c0, a0); ST(c1, a1); ST(c2, a2); ST(c3, a3);
    }
    for (; n0 < N; n0++) {
      for (int mm = 0; mm < 4; mm++) {
        float s = 0.0f;
        for (int p = 0; p < P; p++) s += A[p * lda + m0 + mm] * B[p * ldb + n0];
        C[(m0 + mm) * ldc + n0] += s;
      }
    }
  }
  for (; m0 < M; m0++) {
    int n0 = 0;
    float* c = C + m0 * ldc;
    for (; n0 + 8 <= N; n0 += 8) {
      f4 s0 = LD(c + n0), s1 = LD(c + n0 + 4);
      const float* a = A + m0;
      const float* b = B + n0;
      for (int p = 0; p < P; p++, a += lda, b += ldb) {
        f4 x = SPLAT(a);
        s0 = MADD(s0, x, LD(b)); s1 = MADD(s1, x, LD(b + 4));
      }
      ST(c + n0, s0); ST(c + n0 + 4, s1);
    }
    for (; n0 < N; n0++) {
      float s = 0.0f;
      for (int p = 0; p < P; p++) s += A[p * lda + m0] * B[p * ldb + n0];
      c[n0] += s;
    }
  }
}

// C[m][n] = sum_k A[m][k] * B[k][n]   (A: M x K, lda; B: K x N, ldb; C: M x N, ldc)
static void gemm_ab(const float* A, int lda, const float* B, int ldb, float* C, int ldc,
                    int M, int K, int N) {
  int m0 = 0;
  for (; m0 + 4 <= M; m0 += 4) {
    const float* r0 = A + (m0 + 0) * lda;
    const float* r1 = A + (m0 + 1) * lda;
    const float* r2 = A + (m0 + 2) * lda;
    const float* r3 = A + (m0 + 3) * lda;
    int n0 = 0;
    for (; n0 + 8 <= N; n0 += 8) {
      f4 a00 = ZERO, a01 = ZERO, a10 = ZERO, a11 = ZERO;
      f4 a20 = ZERO, a21 = ZERO, a30 = ZERO, a31 = ZERO;
      const float* b = B + n0;
      for (int k = 0; k < K; k++, b += ldb) {
        f4 b0 = LD(b), b1 = LD(b + 4);
        f4 x0 = SPLAT(r0 + k), x1 = SPLAT(r1 + k), x2 = SPLAT(r2 + k), x3 = SPLAT(r3 + k);
        a00 = MADD(a00, x0, b0); a01 = MADD(a01, x0, b1);
        a10 = MADD(a10, x1, b0); a11 = MADD(a11, x1, b1);
        a20 = MADD(a20, x2, b0); a21 = MADD(a21, x2, b1);
        a30 = MADD(a30, x3, b0); a31 = MADD(a31, x3, b1);
      }
      float* c0 = C + (m0 + 0) * ldc + n0;
      float* c1 = C + (m0 + 1) * ldc + n0;
      float* c2 = C + (m0 + 2) * ldc + n0;
      float* c3 = C + (m0 + 3) * ldc + n0;
      ST(c0, a00); ST(c0 + 4, a01); ST(c1, a10); ST(c1 + 4, a11);
      ST(c2, a20); ST(c2 + 4, a21); ST(c3, a30); ST(c3 + 4, a31);
    }
    for (; n0 < N; n0++) {
      float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
      for (int k = 0; k < K; k++) {
        float bv = B[k * ldb + n0];
        s0 += r0[k] * bv; s1 += r1[k] * bv; s2 += r2[k] * bv; s3 += r3[k] * bv;
      }
      C[(m0 + 0) * ldc + n0] = s0; C[(m0 + 1) * ldc + n0] = s1;
      C[(m0 + 2) * ldc + n0] = s2; C[(m0 + 3) * ldc + n0] = s3;
    }
  }
  for (; m0 < M; m0++) {
    const float* r = A + m0 * lda;
    int n0 = 0;
    for (; n0 + 8 <= N; n0 += 8) {
      f4 s0 = ZERO, s1 = ZERO;
      const float* b = B + n0;
      for (int k = 0; k < K; k++, b += ldb) {
        f4 x = SPLAT(r + k);
        s0 = MADD(s0, x, LD(b)); s1 = MADD(s1, x, LD(b + 4));
      }
      ST(C + m0 * ldc + n0, s0); ST(C + m0 * ldc + n0 + 4, s1);
    }
    for (; n0 < N; n0++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++) s += r[k] * B[k * ldb + n0];
      C[m0 * ldc + n0] = s;
    }
  }
}

static void copy_f(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) ST(dst + i, LD(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

static void add_f(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) ST(dst + i, ADD(LD(dst + i), LD(src + i)));
  for (; i < n; i++) dst[i] += src[i];
}

// Rows of im2col: for output rows [p0, p0 + pc) writes pc rows of KH*KW*C values.
static void im2col(const float* x, float* col, int p0, int pc, int H, int W, int C, int OH, int OW,
                   int KH, int KW, int SH, int SW, int DH, int DW, int PT, int PL) {
  int K = KH * KW * C;
  for (int i = 0; i < pc; i++) {
    int p = p0 + i;
    int ow = p % OW;
    int t = p / OW;
    int oh = t % OH;
    int n = t / OH;
    float* row = col + i * K;
    for (int kh = 0; kh < KH; kh++) {
      int ih = oh * SH + kh * DH - PT;
      for (int kw = 0; kw < KW; kw++) {
        int iw = ow * SW + kw * DW - PL;
        float* dst = row + (kh * KW + kw) * C;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) fill_zero(dst, C);
        else copy_f(dst, x + ((n * H + ih) * W + iw) * C, C);
      }
    }
  }
}

static int chunk_rows(int K) {
  int pc = 65536 / (K > 0 ? K : 1);
  if (pc < 8) pc = 8;
  if (pc > 512) pc = 512;
  return pc;
}

// Scratch floats that conv2d_filter_grad / conv2d_input_grad need.
int conv_scratch_floats(int KH, int KW, int C, int CO) {
  int K = KH * KW * C;
  return chunk_rows(K) * K + K * CO;
}

// dW[KH][KW][C][CO] = sum over (n, oh, ow) of x[n, ih, iw, c] * dy[n, oh, ow, co]
void conv2d_filter_grad(const float* x, const float* dy, float* dw, float* scratch, int N, int H,
                        int W, int C, int OH, int OW, int CO, int KH, int KW, int SH, int SW,
                        int DH, int DW, int PT, int PL) {
  int K = KH * KW * C;
  int P = N * OH * OW;
  fill_zero(dw, K * CO);
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    const int step = 512;
    for (int p0 = 0; p0 < P; p0 += step) {
      int pc = P - p0 < step ? P - p0 : step;
      gemm_atb(x + p0 * C, C, dy + p0 * CO, CO, dw, CO, pc, C, CO);
    }
    return;
  }
  int step = chunk_rows(K);
  for (int p0 = 0; p0 < P; p0 += step) {
    int pc = P - p0 < step ? P - p0 : step;
    im2col(x, scratch, p0, pc, H, W, C, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL);
    gemm_atb(scratch, K, dy + p0 * CO, CO, dw, CO, pc, K, CO);
  }
}

// y[n, oh, ow, co] = sum over (kh, kw, c) of x[n, ih, iw, c] * w[kh, kw, c, co]:
// the forward convolution as a matrix product over im2col rows (a 1x1,
// stride-1, unpadded convolution is the product itself). scratch:
// conv_scratch_floats(KH, KW, C, CO) floats.
void conv2d_forward(const float* x, const float* w, float* y, float* scratch, int N, int H, int W,
                    int C, int OH, int OW, int CO, int KH, int KW, int SH, int SW, int DH, int DW,
                    int PT, int PL) {
  int K = KH * KW * C;
  int P = N * OH * OW;
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    gemm_ab(x, C, w, CO, y, CO, P, C, CO);
    return;
  }
  int step = chunk_rows(K);
  for (int p0 = 0; p0 < P; p0 += step) {
    int pc = P - p0 < step ? P - p0 : step;
    im2col(x, scratch, p0, pc, H, W, C, OH, OW, KH, KW, SH, SW, DH, DW, PT, PL);
    gemm_ab(scratch, K, w, CO, y + p0 * CO, CO, pc, K, CO);
  }
}

// dx[n, ih, iw, c] = sum over (kh, kw, co) of dy[n, oh, ow, co] * w[kh, kw, c, co]
void conv2d_input_grad(const float* dy, const float* w, float* dx, float* scratch, int N, int H,
                       int W, int C, int OH, int OW, int CO, int KH, int KW, int SH, int SW, int DH,
                       int DW, int PT, int PL) {
  int K = KH * KW * C;
  int P = N * OH * OW;
  int step = chunk_rows(K);
  float* g = scratch;
  float* wt = scratch + step * K;
  // wt[co][k] = w[k][co]
  for (int k = 0; k < K; k++)
    for (int co = 0; co < CO; co++) wt[co * K + k] = w[k * CO + co];
  if (KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W) {
    gemm_ab(dy, CO, wt, K, dx, K, P, CO, K);
    return;
  }
  fill_zero(dx, N * H * W * C);
  for (int p0 = 0; p0 < P; p0 += step) {
    int pc = P - p0 < step ? P - p0 : step;
    gemm_ab(dy + p0 * CO, CO, wt, K, g, K, pc, CO, K);
    for (int i = 0; i < pc; i++) {
      int p = p0 + i;
      int ow = p % OW;
      int t = p / OW;
      int oh = t % OH;
      int n = t / OH;
      const float* row = g + i * K;
      for (int kh = 0; kh < KH; kh++) {
        int ih = oh * SH + kh * DH - PT;
        if (ih < 0 || ih >= H) continue;
        for (int kw = 0; kw < KW; kw++) {
          int iw = ow * SW + kw * DW - PL;
          if (iw < 0 || iw >= W) continue;
          add_f(dx + ((n * H + ih) * W + iw) * C, row + (kh * KW + kw) * C, C);
        }
      }
    }
  }
}

// Per-channel sums over P rows of C channels, accumulated in blocks of rows so
// that long reductions keep float32 precision. acc and part hold C floats each.
#define SUM_BLOCK 64

// Batch normalization in training mode over the rows of x (P rows of C
// channels): mean and (biased) variance per channel, then
// y = (x - mean) / sqrt(var + eps) * gamma + beta. scratch: 2*C floats.
void bn_train_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                      float* var, float* scratch, int P, int C, float eps) {
  float* part = scratch;
  float* k = scratch + C;
  fill_zero(mean, C);
  fill_zero(var, C);
  for (int p0 = 0; p0 < P; p0 += SUM_BLOCK) {
    int pe = p0 + SUM_BLOCK < P ? p0 + SUM_BLOCK : P;
    fill_zero(part, C);
    for (int p = p0; p < pe; p++) add_f(part, x + p * C, C);
    add_f(mean, part, C);
  }
  float inv = 1.0f / (float)P;
  for (int c = 0; c < C; c++) mean[c] *= inv;
  for (int p0 = 0; p0 < P; p0 += SUM_BLOCK) {
    int pe = p0 + SUM_BLOCK < P ? p0 + SUM_BLOCK : P;
    fill_zero(part, C);
    for (int p = p0; p < pe; p++) {
      const float* r = x + p * C;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        f4 d = wasm_f32x4_sub(LD(r + c), LD(mean + c));
        ST(part + c, ADD(LD(part + c), MUL(d, d)));
      }
      for (; c < C; c++) {
        float d = r[c] - mean[c];
        part[c] += d * d;
      }
    }
    add_f(var, part, C);
  }
  for (int c = 0; c < C; c++) {
    var[c] *= inv;
    float s = gamma[c] / __builtin_sqrtf(var[c] + eps);
    k[c] = s;
    part[c] = beta[c] - mean[c] * s;
  }
  for (int p = 0; p < P; p++) {
    const float* r = x + p * C;
    float* o = y + p * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) ST(o + c, ADD(MUL(LD(r + c), LD(k + c)), LD(part + c)));
    for (; c < C; c++) o[c] = r[c] * k[c] + part[c];
  }
}

// Gradient of bn_train_forward (mean and variance being the batch statistics
// of x, so their dependence on x is included):
//   dbeta = sum dy, dgamma = sum dy * xhat,
//   dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)).
// scratch: 4*C floats.
void bn_train_backward(const float* x, const float* dy, const float* mean, const float* var,
                       const float* gamma, float* dx, float* dgamma, float* dbeta, float* scratch,
                       int P, int C, float eps) {
  float* p1 = scratch;
  float* p2 = scratch + C;
  float* sdx = scratch + 2 * C;  // sum dy * (x - mean)
  float* cb = scratch + 3 * C;
  fill_zero(dbeta, C);
  fill_zero(sdx, C);
  for (int p0 = 0; p0 < P; p0 += SUM_BLOCK) {
    int pe = p0 + SUM_BLOCK < P ? p0 + SUM_BLOCK : P;
    fill_zero(p1, C);
    fill_zero(p2, C);
    for (int p = p0; p < pe; p++) {
      const float* r = x + p * C;
      const float* g = dy + p * C;
      int c = 0;
      for (; c + 4 <= C; c += 4) {
        f4 gv = LD(g + c);
        f4 d = wasm_f32x4_sub(LD(r + c), LD(mean + c));
        ST(p1 + c, ADD(LD(p1 + c), gv));
        ST(p2 + c, ADD(LD(p2 + c), MUL(gv, d)));
      }
      for (; c < C; c++) {
        p1[c] += g[c];
        p2[c] += g[c] * (r[c] - mean[c]);
      }
    }
    add_f(dbeta, p1, C);
    add_f(sdx, p2, C);
  }
  float inv = 1.0f / (float)P;
  for (int c = 0; c < C; c++) {
    float rstd = 1.0f / __builtin_sqrtf(var[c] + eps);
    dgamma[c] = sdx[c] * rstd;
    float k1 = gamma[c] * rstd;
    float k2 = -gamma[c] * rstd * rstd * rstd * sdx[c] * inv;
    float k3 = -k1 * dbeta[c] * inv;
    p1[c] = k1;
    p2[c] = k2;
    cb[c] = k3 - k2 * mean[c];
  }
  for (int p = 0; p < P; p++) {
    const float* r = x + p * C;
    const float* g = dy + p * C;
    float* o = dx + p * C;
    int c = 0;
    for (; c + 4 <= C; c += 4)
      ST(o + c, ADD(ADD(MUL(LD(g + c), LD(p1 + c)), MUL(LD(r + c), LD(p2 + c))), LD(cb + c)));
    for (; c < C; c++) o[c] = g[c] * p1[c] + r[c] * p2[c] + cb[c];
  }
}

// dx = x > 0 ? dy : 0 (the gradient tfjs gives Relu, step(0) = 0).
void relu_grad(const float* dy, const float* x, float* dx, int n) {
  int i = 0;
  f4 z = ZERO;
  for (; i + 4 <= n; i += 4) ST(dx + i, wasm_v128_and(LD(dy + i), wasm_f32x4_gt(LD(x + i), z)));
  for (; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

// out[kh][kw][co][ci] = w[KH-1-kh][KW-1-kw][ci][co]: the filter that turns a
// stride-1 convolution's input gradient into a forward convolution of dy.
void flip_transpose_filter(const float* w, float* out, int KH, int KW, int CI, int CO) {
  for (int kh = 0; kh < KH; kh++)
    for (int kw = 0; kw < KW; kw++) {
      const float* src = w + (((KH - 1 - kh) * KW) + (KW - 1 - kw)) * CI * CO;
      float* dst = out + (kh * KW + kw) * CO * CI;
      for (int ci = 0; ci < CI; ci++)
        for (int co = 0; co < CO; co++) dst[co * CI + ci] = src[ci * CO + co];
    }
}

// Gradient of max pooling: each output's dy goes to the first maximum of its
// window (scan order kh, kw; strictly greater wins), as tfjs's kernels do.
// scratch: 2*C floats.
void max_pool_grad(const float* x, const float* dy, float* dx, float* scratch, int N, int H, int W,
                   int C, int OH, int OW, int KH, int KW, int SH, int SW, int PT, int PL) {
  float* best = scratch;
  int* where = (int*)(scratch + C);
  fill_zero(dx, N * H * W * C);
  for (int n = 0; n < N; n++)
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        for (int c = 0; c < C; c++) {
          best[c] = -__builtin_inff();
          where[c] = -1;
        }
        for (int kh = 0; kh < KH; kh++) {
          int ih = oh * SH + kh - PT;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            int iw = ow * SW + kw - PL;
            if (iw < 0 || iw >= W) continue;
            int pos = (n * H + ih) * W + iw;
            const float* r = x + pos * C;
            for (int c = 0; c < C; c++) {
              int better = r[c] > best[c];
              best[c] = better ? r[c] : best[c];
              where[c] = better ? pos : where[c];
            }
          }
        }
        const float* g = dy + ((n * OH + oh) * OW + ow) * C;
        for (int c = 0; c < C; c++)
          if (where[c] >= 0) dx[where[c] * C + c] += g[c];
      }
}

// Copies `rows` runs of `len` floats, run r from src + r * src_stride to
// dst + r * dst_stride: slicing along and concatenating on the last axes
// without leaving the heap (tfjs's wasm Slice copies the whole input out of it).
void copy_rows(const float* src, int src_stride, float* dst, int dst_stride, int rows, int len) {
  for (int r = 0; r < rows; r++) __builtin_memcpy(dst + (long)r * dst_stride, src + (long)r * src_stride, (unsigned long)len * 4);
}

// One Adam step over n values, operation by operation as tfjs's AdamOptimizer
// computes it in float32 (so the result is the same to the bit):
//   m' = m*b1 + g*omb1;  v' = v*b2 + (g*g)*omb2;
//   x' = ((m'/c1) / (sqrt(v'/c2) + eps)) * nlr + x
// with omb = 1 - beta, c = 1 - beta^t and nlr = -learning rate.
void adam_step(const float* x, const float* g, const float* m, const float* v, float* xo, float* mo,
               float* vo, int n, float b1, float omb1, float b2, float omb2, float c1, float c2,
               float eps, float nlr) {
  int i = 0;
  f4 B1 = wasm_f32x4_splat(b1), O1 = wasm_f32x4_splat(omb1), B2 = wasm_f32x4_splat(b2), O2 = wasm_f32x4_splat(omb2);
  f4 C1 = wasm_f32x4_splat(c1), C2 = wasm_f32x4_splat(c2), E = wasm_f32x4_splat(eps), L = wasm_f32x4_splat(nlr);
  for (; i + 4 <= n; i += 4) {
    f4 gi = LD(g + i);
    f4 mi = ADD(MUL(LD(m + i), B1), MUL(gi, O1));
    f4 vi = ADD(MUL(LD(v + i), B2), MUL(MUL(gi, gi), O2));
    f4 step = wasm_f32x4_div(wasm_f32x4_div(mi, C1), ADD(wasm_f32x4_sqrt(wasm_f32x4_div(vi, C2)), E));
    ST(mo + i, mi);
    ST(vo + i, vi);
    ST(xo + i, ADD(MUL(step, L), LD(x + i)));
  }
  for (; i < n; i++) {
    float gi = g[i];
    float mi = m[i] * b1 + gi * omb1;
    float vi = v[i] * b2 + (gi * gi) * omb2;
    float step = (mi / c1) / (__builtin_sqrtf(vi / c2) + eps);
    mo[i] = mi;
    vo[i] = vi;
    xo[i] = step * nlr + x[i];
  }
}
