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

// A 1x1, stride-1, unpadded convolution: in NHWC, one matrix product.
static int pointwise(int KH, int KW, int SH, int SW, int PT, int PL, int H, int W, int OH, int OW) {
  return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W;
}

// A stride-1, undilated 3x3 convolution: Winograd F(2x2, 3x3) applies.
static int winograd3x3(int KH, int KW, int SH, int SW, int DH, int DW) {
  return KH == 3 && KW == 3 && SH == 1 && SW == 1 && DH == 1 && DW == 1;
}

// Output tiles of 2x2 per chunk of the Winograd convolution: its 16 input and
// 16 product planes stay within about 512 KiB.
static int winograd_tiles(int C, int CO) {
  int t = 8192 / (C + CO);
  return t < 4 ? 4 : t;
}

// Scratch floats that the convolution kernels need.
int conv_scratch_floats(int KH, int KW, int C, int CO) {
  int K = KH * KW * C;
  int generic = chunk_rows(K) * K + K * CO;
  if (KH != 3 || KW != 3) return generic;
  int wino = 16 * C * CO + 16 * winograd_tiles(C, CO) * (C + CO);
  return wino > generic ? wino : generic;
}

// Winograd F(2x2, 3x3) for a stride-1, undilated 3x3 convolution: per 2x2
// output tile, 16 products of C x CO instead of 36 (Lavin and Gray, 2016):
// U = G g Gt per filter, V = Bt d B per 4x4 input tile, Y = At (U . V) A.
// scratch: conv_scratch_floats(3, 3, C, CO) floats.
static void winograd_filter(const float* w, float* U, int C, int CO) {
  int n = C * CO;
  for (int i = 0; i < n; i++) {
    float g[3][3];
    for (int kh = 0; kh < 3; kh++)
      for (int kw = 0; kw < 3; kw++) g[kh][kw] = w[(kh * 3 + kw) * n + i];
    float t[4][3];  // G g
    for (int j = 0; j < 3; j++) {
      t[0][j] = g[0][j];
      t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
      t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
      t[3][j] = g[2][j];
    }
    for (int r = 0; r < 4; r++) {  // (G g) Gt
      U[(r * 4 + 0) * n + i] = t[r][0];
      U[(r * 4 + 1) * n + i] = 0.5f * (t[r][0] + t[r][1] + t[r][2]);
      U[(r * 4 + 2) * n + i] = 0.5f * (t[r][0] - t[r][1] + t[r][2]);
      U[(r * 4 + 3) * n + i] = t[r][2];
    }
  }
}

// Image n and tile row/column of Winograd tile t (TH x TW tiles per image).
static void tile_origin(int t, int TH, int TW, int* n, int* th, int* tw) {
  *tw = t % TW;
  *th = (t / TW) % TH;
  *n = t / (TW * TH);
}

// The 2x2 outputs of tile t in an NHWC tensor of CO channels (null past its edge).
static void tile_outputs(float* base, int t, int OH, int OW, int CO, int TH, int TW, float* p[2][2]) {
  int n, th, tw;
  tile_origin(t, TH, TW, &n, &th, &tw);
  for (int r = 0; r < 2; r++)
    for (int q = 0; q < 2; q++) {
      int oh = 2 * th + r, ow = 2 * tw + q;
      p[r][q] = (oh < OH && ow < OW) ? base + ((n * OH + oh) * OW + ow) * CO : 0;
    }
}

// V[xi][t][c] for tiles [t0, t0 + tc): 4x4 input windows at (2*th - PT, 2*tw - PL).
static void winograd_input(const float* x, float* V, int t0, int tc, int H, int W, int C, int TH,
                           int TW, int PT, int PL) {
  int plane = tc * C;
  for (int i = 0; i < tc; i++) {
    int n, th, tw;
    tile_origin(t0 + i, TH, TW, &n, &th, &tw);
    int ih0 = 2 * th - PT;
    int iw0 = 2 * tw - PL;
    const float* rows[4][4];
    for (int r = 0; r < 4; r++)
      for (int q = 0; q < 4; q++) {
        int ih = ih0 + r, iw = iw0 + q;
        rows[r][q] = (ih < 0 || ih >= H || iw < 0 || iw >= W) ? 0 : x + ((n * H + ih) * W + iw) * C;
      }
    float* out = V + i * C;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      f4 d[4][4];
      for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) d[r][q] = rows[r][q] ? LD(rows[r][q] + c) : ZERO;
      f4 u[4][4];  // Bt d
      for (int q = 0; q < 4; q++) {
        u[0][q] = wasm_f32x4_sub(d[0][q], d[2][q]);
        u[1][q] = ADD(d[1][q], d[2][q]);
        u[2][q] = wasm_f32x4_sub(d[2][q], d[1][q]);
        u[3][q] = wasm_f32x4_sub(d[1][q], d[3][q]);
      }
      for (int r = 0; r < 4; r++) {  // (Bt d) B
        ST(out + (r * 4 + 0) * plane + c, wasm_f32x4_sub(u[r][0], u[r][2]));
        ST(out + (r * 4 + 1) * plane + c, ADD(u[r][1], u[r][2]));
        ST(out + (r * 4 + 2) * plane + c, wasm_f32x4_sub(u[r][2], u[r][1]));
        ST(out + (r * 4 + 3) * plane + c, wasm_f32x4_sub(u[r][1], u[r][3]));
      }
    }
    for (; c < C; c++) {
      float d[4][4], u[4][4];
      for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) d[r][q] = rows[r][q] ? rows[r][q][c] : 0.0f;
      for (int q = 0; q < 4; q++) {
        u[0][q] = d[0][q] - d[2][q];
        u[1][q] = d[1][q] + d[2][q];
        u[2][q] = d[2][q] - d[1][q];
        u[3][q] = d[1][q] - d[3][q];
      }
      for (int r = 0; r < 4; r++) {
        out[(r * 4 + 0) * plane + c] = u[r][0] - u[r][2];
        out[(r * 4 + 1) * plane + c] = u[r][1] + u[r][2];
        out[(r * 4 + 2) * plane + c] = u[r][2] - u[r][1];
        out[(r * 4 + 3) * plane + c] = u[r][1] - u[r][3];
      }
    }
  }
}

// y for tiles [t0, t0 + tc) from the products M[xi][t][co]: Y = At M A.
static void winograd_output(const float* M, float* y, int t0, int tc, int OH, int OW, int CO, int TH,
                            int TW) {
  int plane = tc * CO;
  for (int i = 0; i < tc; i++) {
    float* dst[2][2];
    tile_outputs(y, t0 + i, OH, OW, CO, TH, TW, dst);
    const float* m = M + i * CO;
    int c = 0;
    for (; c + 4 <= CO; c += 4) {
      f4 v[4][4];
      for (int k = 0; k < 16; k++) v[k >> 2][k & 3] = LD(m + k * plane + c);
      f4 a[2][4];  // At M
      for (int q = 0; q < 4; q++) {
        a[0][q] = ADD(ADD(v[0][q], v[1][q]), v[2][q]);
        a[1][q] = wasm_f32x4_sub(wasm_f32x4_sub(v[1][q], v[2][q]), v[3][q]);
      }
      for (int r = 0; r < 2; r++) {  // (At M) A
        f4 y0 = ADD(ADD(a[r][0], a[r][1]), a[r][2]);
        f4 y1 = wasm_f32x4_sub(wasm_f32x4_sub(a[r][1], a[r][2]), a[r][3]);
        if (dst[r][0]) ST(dst[r][0] + c, y0);
        if (dst[r][1]) ST(dst[r][1] + c, y1);
      }
    }
    for (; c < CO; c++) {
      float v[4][4], a[2][4];
      for (int k = 0; k < 16; k++) v[k >> 2][k & 3] = m[k * plane + c];
      for (int q = 0; q < 4; q++) {
        a[0][q] = v[0][q] + v[1][q] + v[2][q];
        a[1][q] = v[1][q] - v[2][q] - v[3][q];
      }
      for (int r = 0; r < 2; r++) {
        if (dst[r][0]) dst[r][0][c] = a[r][0] + a[r][1] + a[r][2];
        if (dst[r][1]) dst[r][1][c] = a[r][1] - a[r][2] - a[r][3];
      }
    }
  }
}

static void conv2d_winograd(const float* x, const float* w, float* y, float* scratch, int N, int H,
                            int W, int C, int OH, int OW, int CO, int PT, int PL) {
  int TH = (OH + 1) / 2, TW = (OW + 1) / 2;
  int T = N * TH * TW;
  int tc = winograd_tiles(C, CO);
  float* U = scratch;
  float* V = U + 16 * C * CO;
  float* M = V + 16 * tc * C;
  winograd_filter(w, U, C, CO);
  for (int t0 = 0; t0 < T; t0 += tc) {
    int n = T - t0 < tc ? T - t0 : tc;
    winograd_input(x, V, t0, n, H, W, C, TH, TW, PT, PL);
    for (int k = 0; k < 16; k++) gemm_ab(V + k * n * C, C, U + k * C * CO, CO, M + k * n * CO, CO, n, C, CO);
    winograd_output(M, y, t0, n, OH, OW, CO, TH, TW);
  }
}

// dy tiles for the Winograd filter gradient: Mdy[xi][t][co] = A dy At per 2x2
// output tile (zero past the output's edge), A = At transposed.
static void winograd_dy(const float* dy, float* Mdy, int t0, int tc, int OH, int OW, int CO, int TH,
                        int TW) {
  int plane = tc * CO;
  for (int i = 0; i < tc; i++) {
    float* src[2][2];
    tile_outputs((float*)dy, t0 + i, OH, OW, CO, TH, TW, src);
    float* out = Mdy + i * CO;
    int c = 0;
    for (; c + 4 <= CO; c += 4) {
      f4 g[2][2];
      for (int r = 0; r < 2; r++)
        for (int q = 0; q < 2; q++) g[r][q] = src[r][q] ? LD(src[r][q] + c) : ZERO;
      f4 u[4][2];  // A dy
      for (int q = 0; q < 2; q++) {
        u[0][q] = g[0][q];
        u[1][q] = ADD(g[0][q], g[1][q]);
        u[2][q] = wasm_f32x4_sub(g[0][q], g[1][q]);
        u[3][q] = wasm_f32x4_neg(g[1][q]);
      }
      for (int r = 0; r < 4; r++) {  // (A dy) At
        ST(out + (r * 4 + 0) * plane + c, u[r][0]);
        ST(out + (r * 4 + 1) * plane + c, ADD(u[r][0], u[r][1]));
        ST(out + (r * 4 + 2) * plane + c, wasm_f32x4_sub(u[r][0], u[r][1]));
        ST(out + (r * 4 + 3) * plane + c, wasm_f32x4_neg(u[r][1]));
      }
    }
    for (; c < CO; c++) {
      float g[2][2], u[4][2];
      for (int r = 0; r < 2; r++)
        for (int q = 0; q < 2; q++) g[r][q] = src[r][q] ? src[r][q][c] : 0.0f;
      for (int q = 0; q < 2; q++) {
        u[0][q] = g[0][q];
        u[1][q] = g[0][q] + g[1][q];
        u[2][q] = g[0][q] - g[1][q];
        u[3][q] = -g[1][q];
      }
      for (int r = 0; r < 4; r++) {
        out[(r * 4 + 0) * plane + c] = u[r][0];
        out[(r * 4 + 1) * plane + c] = u[r][0] + u[r][1];
        out[(r * 4 + 2) * plane + c] = u[r][0] - u[r][1];
        out[(r * 4 + 3) * plane + c] = -u[r][1];
      }
    }
  }
}

// The filter gradient of a stride-1, undilated 3x3 convolution, the adjoint
// of conv2d_winograd: dW = Gt (sum over tiles of V . (A dy At)) G.
static void conv2d_winograd_filter_grad(const float* x, const float* dy, float* dw, float* scratch,
                                        int N, int H, int W, int C, int OH, int OW, int CO, int PT,
                                        int PL) {
  int TH = (OH + 1) / 2, TW = (OW + 1) / 2;
  int T = N * TH * TW;
  int tc = winograd_tiles(C, CO);
  int n = C * CO;
  float* U = scratch;
  float* V = U + 16 * n;
  float* M = V + 16 * tc * C;
  fill_zero(U, 16 * n);
  for (int t0 = 0; t0 < T; t0 += tc) {
    int m = T - t0 < tc ? T - t0 : tc;
    winograd_input(x, V, t0, m, H, W, C, TH, TW, PT, PL);
    winograd_dy(dy, M, t0, m, OH, OW, CO, TH, TW);
    for (int k = 0; k < 16; k++) gemm_atb(V + k * m * C, C, M + k * m * CO, CO, U + k * n, CO, m, C, CO);
  }
  for (int i = 0; i < n; i++) {
    float u[4][4], t[3][4];
    for (int k = 0; k < 16; k++) u[k >> 2][k & 3] = U[k * n + i];
    for (int q = 0; q < 4; q++) {  // Gt U
      t[0][q] = u[0][q] + 0.5f * (u[1][q] + u[2][q]);
      t[1][q] = 0.5f * (u[1][q] - u[2][q]);
      t[2][q] = 0.5f * (u[1][q] + u[2][q]) + u[3][q];
    }
    for (int r = 0; r < 3; r++) {  // (Gt U) G
      dw[(r * 3 + 0) * n + i] = t[r][0] + 0.5f * (t[r][1] + t[r][2]);
      dw[(r * 3 + 1) * n + i] = 0.5f * (t[r][1] - t[r][2]);
      dw[(r * 3 + 2) * n + i] = 0.5f * (t[r][1] + t[r][2]) + t[r][3];
    }
  }
}

// dW[KH][KW][C][CO] = sum over (n, oh, ow) of x[n, ih, iw, c] * dy[n, oh, ow, co]
// (a stride-1, undilated 3x3 convolution with outputs above 8x8 through
// Winograd F(2x2, 3x3))
void conv2d_filter_grad(const float* x, const float* dy, float* dw, float* scratch, int N, int H,
                        int W, int C, int OH, int OW, int CO, int KH, int KW, int SH, int SW,
                        int DH, int DW, int PT, int PL) {
  int K = KH * KW * C;
  int P = N * OH * OW;
  // (below about 8x8 outputs the tiles are too few for the products to pay)
  if (winograd3x3(KH, KW, SH, SW, DH, DW) && OH > 8 && OW > 8) {
    conv2d_winograd_filter_grad(x, dy, dw, scratch, N, H, W, C, OH, OW, CO, PT, PL);
    return;
  }
  fill_zero(dw, K * CO);
  if (pointwise(KH, KW, SH, SW, PT, PL, H, W, OH, OW)) {
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
// stride-1, unpadded convolution is the product itself; a stride-1 3x3 one
// goes through Winograd F(2x2, 3x3)). scratch:
// conv_scratch_floats(KH, KW, C, CO) floats.
void conv2d_forward(const float* x, const float* w, float* y, float* scratch, int N, int H, int W,
                    int C, int OH, int OW, int CO, int KH, int KW, int SH, int SW, int DH, int DW,
                    int PT, int PL) {
  int K = KH * KW * C;
  int P = N * OH * OW;
  if (pointwise(KH, KW, SH, SW, PT, PL, H, W, OH, OW)) {
    gemm_ab(x, C, w, CO, y, CO, P, C, CO);
    return;
  }
  if (winograd3x3(KH, KW, SH, SW, DH, DW)) {
    conv2d_winograd(x, w, y, scratch, N, H, W, C, OH, OW, CO, PT, PL);
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
  if (pointwise(KH, KW, SH, SW, PT, PL, H, W, OH, OW)) {
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
