// The kernels of kernels.h for one instruction set. build.mjs compiles this file once per set
// with -DDFAN_ISA=<name> -DDFAN_VW=<floats per vector> -DDFAN_MR=<rows per micro-tile> and the
// matching -m flags; the vectors are GCC vector extensions, so the same source serves them all.
//
// Products: C is computed in MR × NR tiles (NR = two vectors); op(B) is packed once per KC-deep
// slice into NR-wide panels, A is read in place (MR rows broadcast one element at a time), which
// suits dfan's shapes: tall A (cells, snippets) and narrow B (h, d, Ht columns).
// Everything is single-threaded and runs in a fixed order: the same inputs give the same bits.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"

#define DFAN_CAT2(a, b) a##b
#define DFAN_CAT(a, b) DFAN_CAT2(a, b)
#define DFAN_STR2(a) #a
#define DFAN_STR(a) DFAN_STR2(a)

namespace dfan {
namespace DFAN_CAT(isa_, DFAN_ISA) {

constexpr int VW = DFAN_VW;
constexpr int MR = DFAN_MR;
constexpr int NV = 2;
constexpr int NR = NV * VW;
constexpr int KC = 256;

typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4)));
typedef int vi __attribute__((vector_size(VW * 4)));

static inline vf ld(const float* p) { return *reinterpret_cast<const vfu*>(p); }
static inline void st(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }
static inline vf bc(float x) { return vf{} + x; }

// ---------------------------------------------------------------------------------- products

template <int R>
static inline void micro(int kc, const float* a, long rsA, long csA, const float* bp, float* c, long ldc,
                         int nr, float alpha, float beta) {
  vf acc[R][NV];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < NV; v++) acc[i][v] = vf{};
  for (int k = 0; k < kc; k++) {
    const vf b0 = ld(bp + k * NR);
    const vf b1 = ld(bp + k * NR + VW);
    const float* ak = a + k * csA;
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      const vf ai = bc(ak[i * rsA]);
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
  }
  if (nr == NR) {
    for (int i = 0; i < R; i++)
      for (int v = 0; v < NV; v++) {
        float* p = c + i * ldc + v * VW;
        vf r = acc[i][v] * alpha;
        if (beta != 0.f) r += ld(p) * beta;
        st(p, r);
      }
    return;
  }
  float tmp[NR];
  for (int i = 0; i < R; i++) {
    for (int v = 0; v < NV; v++) std::memcpy(tmp + v * VW, &acc[i][v], VW * 4);
    float* p = c + i * ldc;
    for (int j = 0; j < nr; j++) p[j] = alpha * tmp[j] + (beta != 0.f ? beta * p[j] : 0.f);
  }
}

typedef void (*MicroFn)(int, const float*, long, long, const float*, float*, long, int, float, float);
static const MicroFn micros[9] = {nullptr,   micro<1>, micro<2>, micro<3>, micro<4>,
                                  micro<5>, micro<6>, micro<7>, micro<8>};

static std::vector<float>& scratch(int which, size_t n) {
  thread_local std::vector<float> bufs[6];
  std::vector<float>& b = bufs[which];
  if (b.size() < n) b.resize(n);
  return b;
}

// op(B)[k0 : k0 + kc, :] as NR-wide panels [panels][kc][NR], zero-padded past N
static void packPanels(const float* B, long rsB, long csB, int N, int k0, int kc, float* dst) {
  const int panels = (N + NR - 1) / NR;
  for (int p = 0; p < panels; p++, dst += (size_t)kc * NR) {
    const int j0 = p * NR, nr = std::min(NR, N - j0);
    if (csB == 1) {
      for (int k = 0; k < kc; k++) {
        std::memcpy(dst + k * NR, B + (k0 + k) * rsB + j0, nr * 4);
        if (nr < NR) std::memset(dst + k * NR + nr, 0, (NR - nr) * 4);
      }
      continue;
    }
    if (nr < NR)
      for (int k = 0; k < kc; k++) std::memset(dst + k * NR + nr, 0, (NR - nr) * 4);
    for (int j = 0; j < nr; j++) {
      const float* src = B + (j0 + j) * csB + k0 * rsB;
      for (int k = 0; k < kc; k++) dst[k * NR + j] = src[k * rsB];
    }
  }
}

// C[M, N] (+)= alpha · A[:, k-slice] · (packed panels of one k-slice of depth kc)
static void panelsTimes(int M, int N, int kc, const float* A, long rsA, long csA, const float* panels, float* C,
                        long ldc, float alpha, float beta) {
  const int np = (N + NR - 1) / NR;
  for (int i0 = 0; i0 < M; i0 += MR) {
    const int mr = std::min(MR, M - i0);
    const float* a = A + i0 * rsA;
    for (int p = 0; p < np; p++)
      micros[mr](kc, a, rsA, csA, panels + (size_t)p * kc * NR, C + i0 * ldc + p * NR, ldc, std::min(NR, N - p * NR),
                 alpha, beta);
  }
}

// out[0:n] = beta·out + s·x[0:n]
static inline void axpby(float* out, float s, const float* x, int n, float beta) {
  const vf sv = bc(s);
  int i = 0;
  if (beta == 0.f) {
    for (; i + VW <= n; i += VW) st(out + i, sv * ld(x + i));
    for (; i < n; i++) out[i] = s * x[i];
  } else {
    for (; i + VW <= n; i += VW) st(out + i, ld(out + i) * beta + sv * ld(x + i));
    for (; i < n; i++) out[i] = beta * out[i] + s * x[i];
  }
}

static inline float dot(const float* a, const float* b, int n);

// Products too thin for tiles (a row or two of C, a depth of one or two, one column): direct loops
static bool thinGemm(const Gemm& g) {
  const int M = g.M, N = g.N, K = g.K;
  if (g.csB == 1 && (M <= 2 || K <= 2)) {
    // each row of C: a combination of B's rows
    for (int i = 0; i < M; i++) {
      float* c = g.C + i * g.ldc;
      for (int k = 0; k < K; k++) axpby(c, g.alpha * g.A[i * g.rsA + k * g.csA], g.B + k * g.rsB, N, k ? 1.f : g.beta);
    }
    return true;
  }
  if (g.rsB == 1 && g.csA == 1 && (M <= 2 || N == 1)) {
    // C[i, j] = A row i · B column j, both contiguous
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        float& c = g.C[i * g.ldc + j];
        const float v = g.alpha * dot(g.A + i * g.rsA, g.B + j * g.csB, K);
        c = g.beta != 0.f ? g.beta * c + v : v;
      }
    return true;
  }
  if (N == 1 && g.rsA == 1) {
    // a column: C[:, 0] = Σ_k B[k] · (row k of the stored Aᵀ)
    std::vector<float> col(M);
    for (int k = 0; k < K; k++) axpby(col.data(), g.B[k * g.rsB], g.A + k * g.csA, M, k ? 1.f : 0.f);
    for (int i = 0; i < M; i++) {
      float& c = g.C[i * g.ldc];
      c = g.alpha * col[i] + (g.beta != 0.f ? g.beta * c : 0.f);
    }
    return true;
  }
  return false;
}

static void gemm(const Gemm& g) {
  const int M = g.M, N = g.N, K = g.K;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) g.C[i * g.ldc + j] = g.beta != 0.f ? g.C[i * g.ldc + j] * g.beta : 0.f;
    return;
  }
  if (thinGemm(g)) return;
  const int panels = (N + NR - 1) / NR;
  float* packed = scratch(0, (size_t)panels * NR * KC).data();
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = std::min(KC, K - k0);
    // one full panel already laid out as a panel: no copy
    const bool asIs = N == NR && g.csB == 1 && g.rsB == NR;
    if (!asIs) packPanels(g.B, g.rsB, g.csB, N, k0, kc, packed);
    panelsTimes(M, N, kc, g.A + k0 * g.csA, g.rsA, g.csA, asIs ? g.B + (long)k0 * NR : packed, g.C, g.ldc, g.alpha,
                k0 == 0 ? g.beta : 1.f);
  }
}

// ------------------------------------------------------------------------- tanh, exp, dots

// e^x for x ≤ 0 down to −87 (the softmax's shifted scores): Cody–Waite reduction and a degree-6
// polynomial on [−ln2/2, ln2/2], ~1 ulp. Scalar: std::exp.
static inline vf vexp(vf x) {
  x = x < bc(-87.f) ? bc(-87.f) : x;
  x = x > bc(88.f) ? bc(88.f) : x;
  // n = round(x / ln 2): truncate x·log2(e) + 1/2 toward zero, then step down where that was up
  const vf v = x * 1.44269504088896341f + 0.5f;
  vf fn = __builtin_convertvector(__builtin_convertvector(v, vi), vf);
  fn = fn > v ? fn - 1.f : fn;
  const vi n = __builtin_convertvector(fn, vi);
  const vf r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
  vf p = bc(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const vi bits = (n + 127) << 23;
  vf scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// tanh x ≈ x · P(x²) / Q(x²) on [−9, 9] (beyond, ±1 to float precision): a rational fit of degree
// 4 / 4 in x², max error 3.5e-7 evaluated in float32 — a third of the operations of the
// exp-based form, which matters: the scorer takes tanh of every cell's h pre-activations
static inline vf vtanh(vf x) {
  x = x > bc(9.f) ? bc(9.f) : x;
  x = x < bc(-9.f) ? bc(-9.f) : x;
  const vf s = x * x;
  vf p = bc(1.349020645e-08f);
  p = p * s + 2.069530796e-05f;
  p = p * s + 3.500286862e-03f;
  p = p * s + 1.338478312e-01f;
  p = p * s + 9.999999231e-01f;
  vf q = bc(7.828667295e-07f);
  q = q * s + 3.293708638e-04f;
  q = q * s + 2.589425693e-02f;
  q = q * s + 4.671808612e-01f;
  q = q * s + 1.f;
  vf t = x * p / q;
  t = t > bc(1.f) ? bc(1.f) : t;
  return t < bc(-1.f) ? bc(-1.f) : t;
}

static inline float tanh1(float x) {
  vf v = bc(x);
  return vtanh(v)[0];
}

static inline float dot(const float* a, const float* b, int n) {
  vf acc0 = vf{}, acc1 = vf{};
  int i = 0;
  for (; i + 2 * VW <= n; i += 2 * VW) {
    acc0 += ld(a + i) * ld(b + i);
    acc1 += ld(a + i + VW) * ld(b + i + VW);
  }
  for (; i + VW <= n; i += VW) acc0 += ld(a + i) * ld(b + i);
  acc0 += acc1;
  float s = 0.f;
  for (int v = 0; v < VW; v++) s += acc0[v];
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

// out[0:D] = Σ_n a[n] · X[n, 0:D] (rows of X `ld` apart): D in register blocks of 4 vectors
static void combineRows(float* out, const float* a, const float* X, int rows, long ldx, int D) {
  int d = 0;
  for (; d + 4 * VW <= D; d += 4 * VW) {
    vf c0 = vf{}, c1 = vf{}, c2 = vf{}, c3 = vf{};
    for (int n = 0; n < rows; n++) {
      const vf an = bc(a[n]);
      const float* x = X + n * ldx + d;
      c0 += an * ld(x);
      c1 += an * ld(x + VW);
      c2 += an * ld(x + 2 * VW);
      c3 += an * ld(x + 3 * VW);
    }
    st(out + d, c0);
    st(out + d + VW, c1);
    st(out + d + 2 * VW, c2);
    st(out + d + 3 * VW, c3);
  }
  for (; d + VW <= D; d += VW) {
    vf c0 = vf{};
    for (int n = 0; n < rows; n++) c0 += bc(a[n]) * ld(X + n * ldx + d);
    st(out + d, c0);
  }
  for (; d < D; d++) {
    float c = 0.f;
    for (int n = 0; n < rows; n++) c += a[n] * X[n * ldx + d];
    out[d] = c;
  }
}

// softmax of e[0:n] into al (sums in double, in a fixed order); returns log Σ exp(e)
static double softmax(const float* e, float* al, int n) {
  float mx = e[0];
  for (int i = 1; i < n; i++) mx = std::max(mx, e[i]);
  int i = 0;
  for (; i + VW <= n; i += VW) st(al + i, vexp(ld(e + i) - mx));
  for (; i < n; i++) al[i] = vexp(bc(e[i] - mx))[0];
  double sum = 0;
  for (i = 0; i < n; i++) sum += al[i];
  const float inv = (float)(1.0 / sum);
  for (i = 0; i < n; i++) al[i] *= inv;
  return mx + std::log(sum);
}

// ----------------------------------------------------------------------------- spatial focus
// One snippet at a time: its N cells (N·D floats, 25 KB for 7×7×128) stay in L1 from the
// scorer's product through the pooling, and again in the backward pass. The cells are read from
// the training set's own array; with map dropout they are copied into a buffer with the mask
// applied (never the whole batch: the pass over memory is what a dual step waits for).

typedef uint32_t vu16 __attribute__((vector_size(64)));
typedef float vf16 __attribute__((vector_size(64)));
typedef float vf16u __attribute__((vector_size(64), aligned(4)));
typedef double vd16 __attribute__((vector_size(128)));
static const vu16 BIT16 = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768};

// snippet (b, t)'s cells [N, D]: in place, or masked into buf
static const float* cellsOf(const Spatial& s, int b, int t, float* buf) {
  const long per = (long)s.T * s.N * s.D, nd = (long)s.N * s.D;
  const float* x = s.X + (long)s.rows[b] * per + (long)t * nd;
  if (!s.bits) return x;
  const long j0 = (long)b * per + (long)t * nd;  // position of the first value in the batch
  const double keep = s.keep;
  // x · keep rounded once, as the JS mask does it in double: a power of two (p = 0.5) is exact in float
  int ex;
  const bool pow2 = std::frexp(keep, &ex) == 0.5;
  const vf16 kf = vf16{} + (float)keep;
  long e = 0;
  // 16 values at a time: their 16 bits from the two words that hold them
  for (; e + 16 <= nd; e += 16) {
    const long j = j0 + e;
    const uint32_t w = (uint32_t)s.bits[j >> 4] | ((uint32_t)s.bits[(j >> 4) + 1] << 16);
    const vu16 on = ((vu16{} + (w >> (j & 15))) & BIT16) != 0;
    const vf16 xv = *reinterpret_cast<const vf16u*>(x + e);
    vf16 y;
    if (pow2) {
      y = xv * kf;
    } else {
      const vd16 xd = __builtin_convertvector(xv, vd16) * keep;
      y = __builtin_convertvector(xd, vf16);
    }
    vf16 zero = vf16{};
    *reinterpret_cast<vf16u*>(buf + e) = on ? y : zero;
  }
  for (; e < nd; e++) {
    const long j = j0 + e;
    buf[e] = (float)((double)x[e] * (((s.bits[j >> 4] >> (j & 15)) & 1u) ? keep : 0.0));
  }
  return buf;
}

static void spatialForward(const Spatial& s) {
  const int T = s.T, N = s.N, D = s.D, h = s.h, k = s.k;
  const int Dp = s.mode == 2 ? 2 * D : D;
  // W as panels once, one KC-deep block after another (a single panel is used as it is)
  const bool asIs = h == NR;
  const int np = (h + NR - 1) / NR;
  float* Wp = asIs ? nullptr : scratch(1, (size_t)np * NR * k).data();
  if (!asIs)
    for (int k0 = 0; k0 < k; k0 += KC) packPanels(s.W, h, 1, h, k0, std::min(KC, k - k0), Wp + (size_t)np * NR * k0);
  const float* panels = asIs ? s.W : Wp;
  float* pre = scratch(2, (size_t)N * h).data();
  float* cells = scratch(4, (size_t)N * D + 16).data();
  std::vector<float> e(N), pooled(D), ab(D);
  for (int b = 0; b < s.B; b++) {
    for (int t = 0; t < T; t++) {
      const long bt = (long)b * T + t;
      const float* Xt = cellsOf(s, b, t, cells);
      // W x_i for the snippet's cells: [N, k] · [k, h]   (k ≤ KC: the scorer reads ≤ 256 channels)
      for (int k0 = 0; k0 < k; k0 += KC)
        panelsTimes(N, h, std::min(KC, k - k0), Xt + k0, D, 1, panels + (size_t)np * NR * k0, pre, h, 1.f,
                    k0 ? 1.f : 0.f);
      const float* G = s.G + bt * h;
      for (int n = 0; n < N; n++) {
        const float* p = pre + (long)n * h;
        const float* C = s.Cbn ? s.Cbn + ((long)b * N + n) * h : nullptr;
        float* H = s.Hs + (bt * N + n) * h;
        int j = 0;
        for (; j + VW <= h; j += VW) {
          vf x = ld(p + j) + ld(G + j);
          if (C) x -= ld(C + j);
          st(H + j, vtanh(x));
        }
        for (; j < h; j++) H[j] = tanh1(p[j] + G[j] - (C ? C[j] : 0.f));
        e[n] = dot(H, s.w, h);
      }
      float* al = s.alpha + bt * N;
      const double lse = softmax(e.data(), al, N);
      if (s.lse) s.lse[bt] = (float)(lse - std::log((double)N));
      // x̂ = Σ α_i x_i (and Σ α_i x̄_i)
      float* O = s.O + bt * Dp;
      combineRows(s.mode == 0 ? O : pooled.data(), al, Xt, N, D, D);
      if (s.mode == 0) continue;
      combineRows(s.ab + bt * D, al, s.xbar + (size_t)b * N * D, N, D, D);
      const float* abt = s.ab + bt * D;
      float* Oc = s.mode == 2 ? O + D : O;
      if (s.mode == 2) std::memcpy(O, pooled.data(), D * 4);
      for (int d = 0; d < D; d++) Oc[d] = pooled[d] - s.kappa[d] * abt[d];
    }
  }
}

static void spatialBackward(const Spatial& s) {
  const int T = s.T, N = s.N, D = s.D, h = s.h, k = s.k;
  const int Dp = s.mode == 2 ? 2 * D : D;
  const bool asIs = h == NR;
  float* dpre = scratch(2, (size_t)N * h).data();
  float* packed = asIs ? nullptr : scratch(3, (size_t)((h + NR - 1) / NR) * NR * N).data();
  float* cells = scratch(4, (size_t)N * D + 16).data();
  std::vector<float> dpooled(D), dab(D), da(N);
  if (s.dC) std::memset(s.dC, 0, sizeof(float) * s.B * N * h);
  for (int b = 0; b < s.B; b++) {
    const float* xb = s.mode != 0 ? s.xbar + (size_t)b * N * D : nullptr;
    for (int t = 0; t < T; t++) {
      const long bt = (long)b * T + t;
      const float* Xt = cellsOf(s, b, t, cells);
      const float* dO = s.dO + bt * Dp;
      if (s.mode == 0) {
        std::memcpy(dpooled.data(), dO, D * 4);
      } else {
        const float* dOc = s.mode == 2 ? dO + D : dO;
        const float* ab = s.ab + bt * D;
        for (int d = 0; d < D; d++) {
          dpooled[d] = s.mode == 2 ? dO[d] + dOc[d] : dOc[d];
          dab[d] = -s.kappa[d] * dOc[d];
          s.dkappa[d] -= dOc[d] * ab[d];
        }
      }
      // dα_i = x_i · dx̂ (+ x̄_i · d(Σ α x̄)); softmax backward; tanh backward
      const float* al = s.alpha + bt * N;
      double dot_ad = 0;
      for (int n = 0; n < N; n++) {
        da[n] = dot(Xt + (size_t)n * D, dpooled.data(), D);
        if (xb) da[n] += dot(xb + (size_t)n * D, dab.data(), D);
        dot_ad += (double)al[n] * da[n];
      }
      const float dl = s.dlse ? s.dlse[bt] : 0.f;
      float* dG = s.dG + bt * h;
      std::memset(dG, 0, h * 4);
      for (int n = 0; n < N; n++) {
        const float de = al[n] * (da[n] - (float)dot_ad) + dl * al[n];
        const float* H = s.Hs + (bt * N + n) * h;
        float* dp = dpre + (long)n * h;
        float* dC = s.dC ? s.dC + ((long)b * N + n) * h : nullptr;
        const vf dev = bc(de);
        int j = 0;
        for (; j + VW <= h; j += VW) {
          const vf Hv = ld(H + j);
          const vf g = dev * ld(s.w + j) * (1.f - Hv * Hv);
          st(dp + j, g);
          st(s.dw + j, ld(s.dw + j) + dev * Hv);
          st(dG + j, ld(dG + j) + g);
          if (dC) st(dC + j, ld(dC + j) + g);
        }
        for (; j < h; j++) {
          const float g = de * s.w[j] * (1.f - H[j] * H[j]);
          dp[j] = g;
          s.dw[j] += de * H[j];
          dG[j] += g;
          if (dC) dC[j] += g;
        }
      }
      // dW += X_t[:, :k]ᵀ · dpre_t: [k, N] · [N, h]
      if (!asIs) packPanels(dpre, h, 1, h, 0, N, packed);
      panelsTimes(k, h, N, Xt, 1, D, asIs ? dpre : packed, s.dW, h, 1.f, 1.f);
    }
  }
}

// --------------------------------------------------------------------- map dropout gather
// xorshift32 is linear over GF(2)³²: a jump of L steps is a 32×32 bit matrix (its columns: the
// images of the 32 one-bit states). LANES copies of the one sequential stream, lane l started
// l·L steps in, produce the same values as the scalar loop of src/model/map-dropout.ts, in
// parallel; lane l masks elements [l·L, (l + 1)·L).

constexpr int LANES = 16;

struct Jump {
  uint32_t col[32];
};

static inline uint32_t xorshift(uint32_t s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

static uint32_t apply(const Jump& m, uint32_t s) {
  uint32_t r = 0;
  for (int b = 0; b < 32; b++)
    if ((s >> b) & 1u) r ^= m.col[b];
  return r;
}

// the map of L steps
static Jump jumpOf(long L) {
  Jump base, r;
  for (int b = 0; b < 32; b++) {
    base.col[b] = xorshift(1u << b);
    r.col[b] = 1u << b;
  }
  while (L > 0) {
    Jump next;
    if (L & 1) {
      for (int b = 0; b < 32; b++) next.col[b] = apply(base, r.col[b]);
      r = next;
    }
    for (int b = 0; b < 32; b++) next.col[b] = apply(base, base.col[b]);
    base = next;
    L >>= 1;
  }
  return r;
}

static void gatherDrop(const float* src, long per, const int32_t* idx, long rows, float* dst, double p,
                       uint32_t seed) {
  const long n = rows * per;
  if (n <= 0) return;
  const double keep = 1 / (1 - p);
  const uint32_t threshold = (uint32_t)std::min(4294967295.0, std::floor(p * 4294967296.0));
  const long L = (n + LANES - 1) / LANES;
  uint32_t lane[LANES];
  lane[0] = seed ? seed : 1u;
  const Jump J = jumpOf(L);
  for (int l = 1; l < LANES; l++) lane[l] = apply(J, lane[l - 1]);
  uint32_t tile[16][LANES];  // [step][lane]
  double mask[LANES][16];    // [lane][step]: 0 or keep (the product in double, as the JS one)
  for (long i0 = 0; i0 < L; i0 += 16) {
    const int steps = (int)std::min(16L, L - i0);
    for (int i = 0; i < steps; i++) {
      for (int l = 0; l < LANES; l++) lane[l] = xorshift(lane[l]);
      std::memcpy(tile[i], lane, sizeof lane);
    }
    for (int i = 0; i < 16; i++)
      for (int l = 0; l < LANES; l++) mask[l][i] = tile[i][l] >= threshold ? keep : 0.0;
    for (int l = 0; l < LANES; l++) {
      const long j0 = l * L + i0;
      const long cnt = std::min((long)steps, std::min(n, (l + 1) * L) - j0);
      if (cnt <= 0) continue;
      const long row = j0 / per, col = j0 % per;
      float* d = dst + j0;
      const double* mk = mask[l];
      if (cnt == 16 && col + 16 <= per) {
        const float* x = src + (long)idx[row] * per + col;
        for (int i = 0; i < 16; i++) d[i] = (float)((double)x[i] * mk[i]);
      } else {
        for (long i = 0; i < cnt; i++) {
          const long j = j0 + i;
          d[i] = (float)((double)src[(long)idx[j / per] * per + j % per] * mk[i]);
        }
      }
    }
  }
}

static void maskBits(long n, double p, uint32_t seed, uint16_t* bits) {
  if (n <= 0) return;
  const uint32_t threshold = (uint32_t)std::min(4294967295.0, std::floor(p * 4294967296.0));
  // lanes of a multiple of 16 values, so that each lane fills whole 16-bit words
  const long L = ((n + LANES - 1) / LANES + 15) / 16 * 16;
  uint32_t lane[LANES];
  lane[0] = seed ? seed : 1u;
  const Jump J = jumpOf(L);
  for (int l = 1; l < LANES; l++) lane[l] = apply(J, lane[l - 1]);
  vu16 st;
  std::memcpy(&st, lane, sizeof st);
  const vu16 thr = vu16{} + threshold;
  for (long i0 = 0; i0 < L; i0 += 16) {
    vu16 word = vu16{};
    for (int i = 0; i < 16; i++) {
      st ^= st << 13;
      st ^= st >> 17;
      st ^= st << 5;
      word |= ((vu16)(st >= thr) & 1u) << i;
    }
    for (int l = 0; l < LANES; l++) {
      const long j0 = l * L + i0;
      if (j0 >= n) continue;
      const uint32_t valid = n - j0 >= 16 ? 0xffffu : (1u << (n - j0)) - 1u;
      bits[j0 >> 4] = (uint16_t)(word[l] & valid);
    }
  }
}

// ------------------------------------------------------------------------------ the rest

static double adam(const Adam& a) {
  // Σ θ² first (the penalty's share of the loss), in vector lanes: a fixed order for a given build
  vf acc = vf{};
  long i = 0;
  for (; i + VW <= a.n; i += VW) acc += ld(a.theta + i) * ld(a.theta + i);
  double ss = 0;
  for (int v = 0; v < VW; v++) ss += acc[v];
  for (; i < a.n; i++) ss += (double)a.theta[i] * a.theta[i];
  const float b1 = a.beta1, b2 = a.beta2, lr = a.lr, ic1 = 1.f / a.c1, ic2 = 1.f / a.c2, wd = a.decay;
  float* __restrict th = a.theta;
  float* __restrict m = a.m;
  float* __restrict v = a.v;
  const float* __restrict g = a.g;
  for (long j = 0; j < a.n; j++) {
    const float gj = g[j] + wd * th[j];
    m[j] = b1 * m[j] + (1.f - b1) * gj;
    v[j] = b2 * v[j] + (1.f - b2) * gj * gj;
    th[j] -= lr * (m[j] * ic1) / (std::sqrt(v[j] * ic2) + a.epsilon);
  }
  return ss;
}

static void biasAct(float* Y, long rows, long cols, long stride, const float* bias, int act) {
  for (long r = 0; r < rows; r++) {
    float* y = Y + r * stride;
    long j = 0;
    for (; j + VW <= cols; j += VW) {
      vf x = ld(y + j);
      if (bias) x += ld(bias + j);
      if (act == 1) x = x > bc(0.f) ? x : bc(0.f);
      if (act == 2) x = vtanh(x);
      st(y + j, x);
    }
    for (; j < cols; j++) {
      float x = y[j] + (bias ? bias[j] : 0.f);
      if (act == 1) x = x > 0.f ? x : 0.f;
      if (act == 2) x = tanh1(x);
      y[j] = x;
    }
  }
}

static void actGrad(float* dY, const float* Y, long rows, long cols, long stride, int act) {
  if (act == 0) return;
  for (long r = 0; r < rows; r++) {
    float* d = dY + r * stride;
    const float* y = Y + r * stride;
    for (long j = 0; j < cols; j++) d[j] = act == 1 ? (y[j] > 0.f ? d[j] : 0.f) : d[j] * (1.f - y[j] * y[j]);
  }
}

static void colSum(const float* X, long rows, long cols, long stride, float* out, int accumulate) {
  if (!accumulate) std::memset(out, 0, cols * 4);
  for (long r = 0; r < rows; r++) {
    const float* x = X + r * stride;
    for (long j = 0; j < cols; j++) out[j] += x[j];
  }
}

}  // namespace isa_
}  // namespace dfan

namespace dfan {
const Kernels DFAN_CAT(kernels_, DFAN_ISA) = {
    DFAN_STR(DFAN_ISA),
    DFAN_CAT(isa_, DFAN_ISA)::gemm,
    DFAN_CAT(isa_, DFAN_ISA)::spatialForward,
    DFAN_CAT(isa_, DFAN_ISA)::spatialBackward,
    DFAN_CAT(isa_, DFAN_ISA)::adam,
    DFAN_CAT(isa_, DFAN_ISA)::biasAct,
    DFAN_CAT(isa_, DFAN_ISA)::actGrad,
    DFAN_CAT(isa_, DFAN_ISA)::colSum,
    DFAN_CAT(isa_, DFAN_ISA)::gatherDrop,
    DFAN_CAT(isa_, DFAN_ISA)::maskBits,
};
}  // namespace dfan
