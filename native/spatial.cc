// The spatial focus of one map stream, forward and backward (kernels.h, Spatial), one snippet at
// a time: its N cells (N·D floats, 25 KB for 7×7×128) stay in cache from the scorer's product
// through the pooling, and again in the backward pass. The cells are read from the training set's
// own array; with map dropout they are copied into a buffer with the mask applied (never the
// whole batch: the pass over memory is what a dual step waits for).
#include "isa.h"

namespace dfan {
namespace DFAN_CAT(isa_, DFAN_ISA) {

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

void spatialForward(const Spatial& s) {
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
  std::vector<float> e(N), pooled(D);
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

void spatialBackward(const Spatial& s) {
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

}  // namespace isa_
}  // namespace dfan
