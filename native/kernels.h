// dfan's training kernels: the products and the fused spatial focus of a DFAN step, on float32
// arrays. kernels.cc is compiled once per instruction set (see build.mjs); addon.cc picks the
// widest one the CPU supports at load time and exposes it to JavaScript (src/model/engine/native.ts).
#pragma once
#include <cstdint>

namespace dfan {

// C = alpha · op(A) · op(B) + beta · C, row-major C [M, N] with row stride ldc. An operand is
// given by its element strides: element (i, j) of A [M, K] is A[i·rsA + j·csA] (a transposed
// operand just swaps its strides). beta 0 never reads C.
struct Gemm {
  int M, N, K;
  float alpha, beta;
  const float* A;
  long rsA, csA;
  const float* B;
  long rsB, csB;
  float* C;
  long ldc;
};

// The spatial focus of one map stream over a batch (B videos × T snippets × N cells × D channels):
//   pre_i = W·x_i[:k] + G_t − Cbn_i,  H_i = tanh(pre_i),  e_i = w·H_i,  α = softmax_i(e)
//   O_t = Σ α_i x_i                     (mode 0: plain)
//   O_t = Σ α_i x_i − κ ⊙ Σ α_i x̄_i     (mode 1: contrasted)
//   O_t = [Σ α_i x_i ; the contrasted]  (mode 2: both, 2D wide)
//   lse_t = log Σ_i exp(e_i) − log N    (the snippet's evidence)
// backward: given dO (and dlse), the gradients of W, w, κ (accumulated), G and Cbn (written:
// dG_t = Σ_i dpre_i, dCsum_i = Σ_t dpre_ti, the caller applies the minus sign).
struct Spatial {
  int B, T, N, D, k, h, mode;
  // the cells: video b is row rows[b] of X [n, T, N, D] (the training set's maps, not copied);
  // with map dropout, value j of the batch (in [B, T, N, D] order) is kept when bit j of `bits`
  // is set, and then scaled by `keep`
  const float* X;
  const int32_t* rows;
  const uint16_t* bits;
  double keep;
  const float* W;     // [k, h]
  const float* G;     // [B·T, h] context term, bias included
  const float* Cbn;   // [B, N, h] or null: per-video cell term subtracted (focus contrast)
  const float* w;     // [h]
  const float* xbar;  // [B, N, D] cell means (modes 1, 2)
  const float* kappa; // [D] (modes 1, 2)
  // forward outputs
  float* O;      // [B·T, D or 2D]
  float* Hs;     // [B·T·N, h] tanh(pre), kept for the backward pass
  float* alpha;  // [B·T, N]
  float* ab;     // [B·T, D] Σ α x̄ (modes 1, 2)
  float* lse;    // [B·T] or null
  // backward inputs
  const float* dO;   // [B·T, D or 2D]
  const float* dlse; // [B·T] or null
  // backward outputs
  float* dW;      // [k, h] accumulated
  float* dw;      // [h] accumulated
  float* dkappa;  // [D] accumulated (modes 1, 2)
  float* dG;      // [B·T, h] written
  float* dC;      // [B, N, h] written, or null
};

struct Adam {
  float* theta;
  float* m;
  float* v;
  const float* g;
  long n;
  float lr, beta1, beta2, epsilon, c1, c2;
  // L2 penalty folded into the gradient: g + decay · θ
  float decay;
};

struct Kernels {
  const char* isa;
  void (*gemm)(const Gemm&);
  void (*spatialForward)(const Spatial&);
  void (*spatialBackward)(const Spatial&);
  // returns Σ θ² before the update (the penalty's share of the loss)
  double (*adam)(const Adam&);
  // Y[r, :cols] = act(Y[r, :cols] + bias) for rows r (ld = row stride); act 0 none, 1 relu, 2 tanh
  void (*biasAct)(float* Y, long rows, long cols, long ld, const float* bias, int act);
  // dY *= act'(from its output Y)
  void (*actGrad)(float* dY, const float* Y, long rows, long cols, long ld, int act);
  // out[c] (+)= Σ_r X[r, c]
  void (*colSum)(const float* X, long rows, long cols, long ld, float* out, int accumulate);
  // dst row j = src row idx[j] (rows of `per` values), each value then zeroed with probability p
  // and the rest scaled by 1 / (1 − p), by the xorshift32 stream of `seed` (as map-dropout.ts)
  void (*gatherDrop)(const float* src, long per, const int32_t* idx, long rows, float* dst, double p, uint32_t seed);
  // the same stream's keep decisions for n values as bits (bit j of word j / 16: value j is kept)
  void (*maskBits)(long n, double p, uint32_t seed, uint16_t* bits);
};

extern const Kernels kernels_base;
#if defined(__x86_64__)
extern const Kernels kernels_avx2;
extern const Kernels kernels_avx512;
#endif

}  // namespace dfan
