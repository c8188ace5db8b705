// Adam, the small elementwise kernels, and the table of one instruction set's kernels
// (kernels.h) that addon.cc picks from.
#include "isa.h"

namespace dfan {
namespace DFAN_CAT(isa_, DFAN_ISA) {

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

