// Internals shared by the kernel sources of one instruction set (gemm.cc, spatial.cc,
// dropout.cc, kernels.cc): build.mjs compiles each of them once per set with
// -DDFAN_ISA=<name> -DDFAN_VW=<floats per vector> -DDFAN_MR=<rows per micro-tile> and the matching
// -m flags; the vectors are GCC vector extensions, so the same source serves every set, and each
// set lives in its own namespace (dfan::isa_<name>).
// Everything is single-threaded and runs in a fixed order: the same inputs give the same bits.
#pragma once
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

// 16 lanes whatever the set (map-dropout masks work on 16 values at a time)
typedef uint32_t vu16 __attribute__((vector_size(64)));
typedef float vf16 __attribute__((vector_size(64)));
typedef float vf16u __attribute__((vector_size(64), aligned(4)));
typedef double vd16 __attribute__((vector_size(128)));

static inline vf ld(const float* p) { return *reinterpret_cast<const vfu*>(p); }
static inline void st(float* p, vf v) { *reinterpret_cast<vfu*>(p) = v; }
static inline vf bc(float x) { return vf{} + x; }

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

// the kernels' scratch buffers: `which` names one, per thread (worker threads train side by side)
std::vector<float>& scratch(int which, size_t n);

// products (gemm.cc)
void packPanels(const float* B, long rsB, long csB, int N, int k0, int kc, float* dst);
void panelsTimes(int M, int N, int kc, const float* A, long rsA, long csA, const float* panels, float* C,
                 long ldc, float alpha, float beta);
void gemm(const Gemm& g);

// the spatial focus (spatial.cc), map dropout (dropout.cc), the rest (kernels.cc)
void spatialForward(const Spatial& s);
void spatialBackward(const Spatial& s);
void gatherDrop(const float* src, long per, const int32_t* idx, long rows, float* dst, double p, uint32_t seed);
void maskBits(long n, double p, uint32_t seed, uint16_t* bits);

}  // namespace isa_
}  // namespace dfan
