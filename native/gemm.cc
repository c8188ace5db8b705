// Products, C = alpha · op(A) · op(B) + beta · C: C is computed in MR × NR tiles (NR = two
// vectors); op(B) is packed once per KC-deep slice into NR-wide panels, A is read in place (MR rows
// broadcast one element at a time), which suits dfan's shapes: tall A (cells, snippets) and narrow
// B (h, d, Ht columns). Products too thin for tiles run as direct loops.
#include "isa.h"

namespace dfan {
namespace DFAN_CAT(isa_, DFAN_ISA) {

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

std::vector<float>& scratch(int which, size_t n) {
  thread_local std::vector<float> bufs[6];
  std::vector<float>& b = bufs[which];
  if (b.size() < n) b.resize(n);
  return b;
}

// op(B)[k0 : k0 + kc, :] as NR-wide panels [panels][kc][NR], zero-padded past N
void packPanels(const float* B, long rsB, long csB, int N, int k0, int kc, float* dst) {
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
void panelsTimes(int M, int N, int kc, const float* A, long rsA, long csA, const float* panels, float* C,
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

void gemm(const Gemm& g) {
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

}  // namespace isa_
}  // namespace dfan
