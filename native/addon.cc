// Node-API entry points of dfan's native training kernels (kernels.h), for src/model/engine/native.ts.
// Arguments are Float32Arrays and numbers; every array is checked against the largest index the
// call will touch before any kernel runs, so a wrong shape throws instead of corrupting memory.
// The kernels' instruction set is chosen once, at load: the widest the CPU has, or the one named
// by DFAN_NATIVE_ISA (base, avx2, avx512).
#include <node_api.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <ctime>

#include "kernels.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace {

// The kernels run with IEEE float behaviour whatever the thread's mode (a library loaded beside
// dfan may turn on flush-to-zero or change the rounding): same inputs, same bits.
struct FloatMode {
#if defined(__x86_64__)
  unsigned saved = _mm_getcsr();
  // round to nearest, denormals kept (FTZ bit 15, DAZ bit 6 and the rounding bits cleared)
  FloatMode() { _mm_setcsr(saved & ~(0x8000u | 0x0040u | 0x6000u)); }
  ~FloatMode() { _mm_setcsr(saved); }
#endif
};

using dfan::Kernels;

// chosen once per process (thread-safe static init: worker threads load the addon too)
const Kernels* K = nullptr;

const Kernels* pickKernels() {
  const char* want = std::getenv("DFAN_NATIVE_ISA");
  std::string w = want ? want : "";
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool v4 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("fma");
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (w == "base") return &dfan::kernels_base;
  if (w == "avx2" && v3) return &dfan::kernels_avx2;
  if (v4 && (w.empty() || w == "avx512")) return &dfan::kernels_avx512;
  if (v3) return &dfan::kernels_avx2;
#endif
  return &dfan::kernels_base;
}

struct Args {
  napi_env env;
  napi_value v[32];
  size_t n = 32;
  bool failed = false;

  Args(napi_env e, napi_callback_info info) : env(e) { napi_get_cb_info(e, info, &n, v, nullptr, nullptr); }

  void fail(const std::string& msg) {
    if (!failed) napi_throw_type_error(env, nullptr, msg.c_str());
    failed = true;
  }
  double num(size_t i) {
    double x = 0;
    if (i >= n || napi_get_value_double(env, v[i], &x) != napi_ok) fail("argument " + std::to_string(i) + ": a number expected");
    return x;
  }
  long integer(size_t i) { return (long)num(i); }
  bool isNull(size_t i) {
    napi_valuetype t;
    if (i >= n) return true;
    napi_typeof(env, v[i], &t);
    return t == napi_null || t == napi_undefined;
  }
  // a typed array of type `want` (null → nullptr when optional), with its length
  void* typed(size_t i, napi_typedarray_type want, const char* name, size_t* len, bool optional) {
    *len = 0;
    if (optional && isNull(i)) return nullptr;
    bool is = false;
    if (i < n) napi_is_typedarray(env, v[i], &is);
    napi_typedarray_type type;
    void* data = nullptr;
    if (is) napi_get_typedarray_info(env, v[i], &type, len, &data, nullptr, nullptr);
    if (!is || type != want) {
      fail("argument " + std::to_string(i) + ": " + name + " expected");
      return nullptr;
    }
    return data;
  }
  float* f32(size_t i, size_t* len, bool optional = false) {
    return static_cast<float*>(typed(i, napi_float32_array, "a Float32Array", len, optional));
  }
  uint16_t* u16(size_t i, size_t* len, bool optional = false) {
    return static_cast<uint16_t*>(typed(i, napi_uint16_array, "a Uint16Array", len, optional));
  }
  int32_t* i32(size_t i, size_t* len) {
    return static_cast<int32_t*>(typed(i, napi_int32_array, "an Int32Array", len, false));
  }
  // a block of an array: `rows` × `cols` values at `off`, rows `ld` apart (arguments i … i + 3)
  struct Block {
    long off, rows, cols, ld;
  };
  Block block(size_t i) {
    Block b{integer(i), integer(i + 1), integer(i + 2), integer(i + 3)};
    if (b.off < 0 || b.rows < 0 || b.cols < 0) fail("a block needs offset, rows and columns ≥ 0");
    return b;
  }
  // the array must hold the block
  void needBlock(const char* what, size_t len, const Block& b) {
    if (b.rows > 0 && b.cols > 0) need(what, len, b.off + (b.rows - 1) * b.ld + b.cols - 1);
  }
  // the array must hold index `last` (a negative extent means nothing is touched)
  void need(const char* what, size_t len, long last) {
    if (last >= 0 && (size_t)last >= len)
      fail(std::string(what) + ": index " + std::to_string(last) + " is past its length " + std::to_string(len));
  }
};

napi_value number(napi_env env, double x) {
  napi_value r;
  napi_create_double(env, x, &r);
  return r;
}

// gemm(transA, transB, M, N, K, alpha, A, offA, lda, B, offB, ldb, beta, C, offC, ldc,
//      batch, strideA, strideB, strideC): for each batch item, C = alpha·op(A)·op(B) + beta·C
napi_value Gemm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const bool tA = a.num(0) != 0, tB = a.num(1) != 0;
  const long M = a.integer(2), N = a.integer(3), Kd = a.integer(4);
  const float alpha = (float)a.num(5), beta = (float)a.num(12);
  size_t la, lb, lc;
  float* A = a.f32(6, &la);
  float* B = a.f32(9, &lb);
  float* C = a.f32(13, &lc);
  const long offA = a.integer(7), lda = a.integer(8), offB = a.integer(10), ldb = a.integer(11);
  const long offC = a.integer(14), ldc = a.integer(15);
  const long batch = a.n > 16 ? a.integer(16) : 1;
  const long sA = a.n > 17 ? a.integer(17) : 0, sB = a.n > 18 ? a.integer(18) : 0, sC = a.n > 19 ? a.integer(19) : 0;
  if (a.failed) return nullptr;
  if (M < 0 || N < 0 || Kd < 0 || batch < 0 || offA < 0 || offB < 0 || offC < 0 || sA < 0 || sB < 0 || sC < 0)
    a.fail("gemm: negative size, offset or stride");
  const long rsA = tA ? 1 : lda, csA = tA ? lda : 1, rsB = tB ? 1 : ldb, csB = tB ? ldb : 1;
  if (M > 0 && N > 0 && batch > 0) {
    if (Kd > 0) {
      a.need("gemm A", la, offA + (batch - 1) * sA + (M - 1) * rsA + (Kd - 1) * csA);
      a.need("gemm B", lb, offB + (batch - 1) * sB + (Kd - 1) * rsB + (N - 1) * csB);
    }
    a.need("gemm C", lc, offC + (batch - 1) * sC + (M - 1) * ldc + N - 1);
  }
  if (a.failed) return nullptr;
  FloatMode mode;
  for (long b = 0; b < batch; b++)
    K->gemm(dfan::Gemm{(int)M, (int)N, (int)Kd, alpha, beta, A + offA + b * sA, rsA, csA, B + offB + b * sB, rsB,
                       csB, C + offC + b * sC, ldc});
  return nullptr;
}

// spatial(backward, dims Int32Array [B, T, N, D, k, h, mode], X, rows, bits, keep, W, G, Cbn, w,
//         xbar, kappa, O, Hs, alpha, ab, lse, dO, dlse, dW, dw, dkappa, dG, dC): X [n, T, N, D]
//         and rows Int32Array [B] (video b's row of X), bits Uint16Array (map dropout) or null;
//         unused arrays may be null
napi_value SpatialFocus(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const bool backward = a.num(0) != 0;
  size_t ld;
  int32_t* d = a.i32(1, &ld);
  if (a.failed) return nullptr;
  if (ld < 7) {
    a.fail("spatial: dims must hold B, T, N, D, k, h, mode");
    return nullptr;
  }
  dfan::Spatial s{};
  s.B = d[0], s.T = d[1], s.N = d[2], s.D = d[3], s.k = d[4], s.h = d[5], s.mode = d[6];
  if (s.B < 0 || s.T < 1 || s.N < 1 || s.D < 1 || s.k < 1 || s.k > s.D || s.h < 1 || s.mode < 0 || s.mode > 2) {
    a.fail("spatial: bad dims");
    return nullptr;
  }
  const long BT = (long)s.B * s.T, Dp = s.mode == 2 ? 2L * s.D : s.D, per = (long)s.T * s.N * s.D;
  const bool contrast = s.mode != 0;
  size_t l, lx, lr;
  s.X = a.f32(2, &lx);
  s.rows = a.i32(3, &lr);
  s.bits = a.u16(4, &l, true);
  s.keep = a.num(5);
  if (a.failed) return nullptr;
  if ((long)lr < s.B) a.fail("spatial: rows must name every video of the batch");
  for (long b = 0; b < s.B && !a.failed; b++)
    if (s.rows[b] < 0) a.fail("spatial: negative row");
    else a.need("spatial X", lx, ((long)s.rows[b] + 1) * per - 1);
  // the mask reads one word past the last value's
  if (s.bits) a.need("spatial bits", l, (s.B * per + 15) / 16);
  // each array: its argument index, whether this pass needs it, and the elements it must hold
  auto arr = [&](size_t i, const char* what, bool needed, long elems, bool optional = false) -> float* {
    if (!needed) return nullptr;
    float* p = a.f32(i, &l, optional);
    if (p) a.need(what, l, elems - 1);
    return p;
  };
  s.W = arr(6, "spatial W", !backward, (long)s.k * s.h);
  s.G = arr(7, "spatial G", !backward, BT * s.h);
  s.Cbn = arr(8, "spatial Cbn", !backward, (long)s.B * s.N * s.h, true);
  s.w = arr(9, "spatial w", true, s.h);
  s.xbar = arr(10, "spatial xbar", contrast, (long)s.B * s.N * s.D);
  s.kappa = arr(11, "spatial kappa", contrast, s.D);
  s.O = arr(12, "spatial O", !backward, BT * Dp);
  s.Hs = arr(13, "spatial Hs", true, BT * s.N * s.h);
  s.alpha = arr(14, "spatial alpha", true, BT * s.N);
  s.ab = arr(15, "spatial ab", contrast, BT * s.D);
  s.lse = arr(16, "spatial lse", !backward, BT, true);
  s.dO = arr(17, "spatial dO", backward, BT * Dp);
  s.dlse = arr(18, "spatial dlse", backward, BT, true);
  s.dW = arr(19, "spatial dW", backward, (long)s.k * s.h);
  s.dw = arr(20, "spatial dw", backward, s.h);
  s.dkappa = arr(21, "spatial dkappa", backward && contrast, s.D);
  s.dG = arr(22, "spatial dG", backward, BT * s.h);
  s.dC = arr(23, "spatial dC", backward, (long)s.B * s.N * s.h, true);
  if (a.failed) return nullptr;
  FloatMode mode;
  if (backward)
    K->spatialBackward(s);
  else
    K->spatialForward(s);
  return nullptr;
}

// maskBits(n, p, seed, bits): map dropout's keep decisions for n values (Uint16Array, ⌈n/16⌉ + 1 words)
napi_value MaskBits(napi_env env, napi_callback_info info) {
  Args a(env, info);
  const long n = a.integer(0);
  const double p = a.num(1), seed = a.num(2);
  size_t l;
  uint16_t* bits = a.u16(3, &l);
  if (a.failed) return nullptr;
  if (n < 0 || !(p >= 0 && p < 1)) a.fail("maskBits: bad count or rate");
  a.need("maskBits bits", l, (n + 15) / 16);
  if (a.failed) return nullptr;
  std::memset(bits, 0, l * sizeof(uint16_t));
  const uint32_t s32 = (uint32_t)(int64_t)seed;
  K->maskBits(n, p, s32 ? s32 : 1u, bits);
  return nullptr;
}

// adam(theta, m, v, g, lr, beta1, beta2, epsilon, c1, c2, decay) → Σ θ² before the update
napi_value AdamStep(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lt, lm, lv, lg;
  float* th = a.f32(0, &lt);
  float* m = a.f32(1, &lm);
  float* v = a.f32(2, &lv);
  float* g = a.f32(3, &lg);
  if (!a.failed && (lm != lt || lv != lt || lg != lt)) a.fail("adam: theta, m, v and g must have one length");
  dfan::Adam s{th, m, v, g, (long)lt, (float)a.num(4), (float)a.num(5), (float)a.num(6), (float)a.num(7),
               (float)a.num(8), (float)a.num(9), (float)a.num(10)};
  if (a.failed) return nullptr;
  FloatMode mode;
  return number(env, K->adam(s));
}

// biasAct(Y, off, rows, cols, ld, bias | null, act)
napi_value BiasAct(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t ly, lb;
  float* Y = a.f32(0, &ly);
  const Args::Block y = a.block(1);
  float* bias = a.f32(5, &lb, true);
  const int act = (int)a.integer(6);
  a.needBlock("biasAct Y", ly, y);
  if (bias) a.need("biasAct bias", lb, y.cols - 1);
  if (act < 0 || act > 2) a.fail("biasAct: bad activation");
  if (a.failed) return nullptr;
  FloatMode mode;
  K->biasAct(Y + y.off, y.rows, y.cols, y.ld, bias, act);
  return nullptr;
}

// actGrad(dY, Y, off, rows, cols, ld, act): dY *= act'(Y), both at the same offset and stride
napi_value ActGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t ld1, ld2;
  float* dY = a.f32(0, &ld1);
  float* Y = a.f32(1, &ld2);
  const Args::Block y = a.block(2);
  const int act = (int)a.integer(6);
  a.needBlock("actGrad dY", ld1, y);
  a.needBlock("actGrad Y", ld2, y);
  if (act < 0 || act > 2) a.fail("actGrad: bad activation");
  if (a.failed) return nullptr;
  FloatMode mode;
  K->actGrad(dY + y.off, Y + y.off, y.rows, y.cols, y.ld, act);
  return nullptr;
}

// colSum(X, off, rows, cols, ld, out, accumulate)
napi_value ColSum(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t lx, lo;
  float* X = a.f32(0, &lx);
  const Args::Block x = a.block(1);
  float* out = a.f32(5, &lo);
  a.needBlock("colSum X", lx, x);
  a.need("colSum out", lo, x.cols - 1);
  if (a.failed) return nullptr;
  FloatMode mode;
  K->colSum(X + x.off, x.rows, x.cols, x.ld, out, a.num(6) != 0);
  return nullptr;
}

// gather(src, per, idx, dst, p, seed): dst row j = src row idx[j] (rows of `per` values); with
// p > 0 each value of dst, in order, is then zeroed with probability p and the rest scaled by
// 1 / (1 − p), drawing from the same xorshift32 stream as src/model/map-dropout.ts (same seed,
// same mask)
napi_value Gather(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t ls, li, ld;
  float* src = a.f32(0, &ls);
  const long per = a.integer(1);
  int32_t* idx = a.i32(2, &li);
  float* dst = a.f32(3, &ld);
  const double p = a.n > 4 ? a.num(4) : 0;
  const double seed = a.n > 5 ? a.num(5) : 1;
  if (a.failed) return nullptr;
  if (per < 0 || !(p >= 0 && p < 1)) a.fail("gather: bad row width or dropout rate");
  a.need("gather dst", ld, (long)li * per - 1);
  for (size_t j = 0; j < li && !a.failed; j++)
    if (idx[j] < 0) a.fail("gather: negative row index");
    else a.need("gather src", ls, ((long)idx[j] + 1) * per - 1);
  if (a.failed) return nullptr;
  FloatMode mode;
  if (p > 0) {
    uint32_t s = (uint32_t)(int64_t)seed;
    K->gatherDrop(src, per, idx, (long)li, dst, p, s ? s : 1u);
  } else {
    for (size_t j = 0; j < li; j++) std::memcpy(dst + j * per, src + (long)idx[j] * per, per * sizeof(float));
  }
  return nullptr;
}

// threadCpu(): CPU seconds of the calling thread (benchmarks on a shared machine)
napi_value ThreadCpu(napi_env env, napi_callback_info) {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return number(env, t.tv_sec + 1e-9 * t.tv_nsec);
}

// the interface version src/model/engine/native.ts expects (bump when a function changes)
constexpr int kInterface = 2;

napi_value Interface(napi_env env, napi_callback_info) {
  return number(env, kInterface);
}

napi_value Isa(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_string_utf8(env, K->isa, NAPI_AUTO_LENGTH, &r);
  return r;
}

}  // namespace

// plain properties (a benchmark may wrap a kernel to time it)
constexpr napi_property_attributes kProp =
    static_cast<napi_property_attributes>(napi_writable | napi_enumerable | napi_configurable);

NAPI_MODULE_INIT() {
  static const Kernels* picked = pickKernels();
  K = picked;
  const napi_property_descriptor props[] = {
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, kProp, nullptr},
      {"spatial", nullptr, SpatialFocus, nullptr, nullptr, nullptr, kProp, nullptr},
      {"adam", nullptr, AdamStep, nullptr, nullptr, nullptr, kProp, nullptr},
      {"biasAct", nullptr, BiasAct, nullptr, nullptr, nullptr, kProp, nullptr},
      {"actGrad", nullptr, ActGrad, nullptr, nullptr, nullptr, kProp, nullptr},
      {"colSum", nullptr, ColSum, nullptr, nullptr, nullptr, kProp, nullptr},
      {"maskBits", nullptr, MaskBits, nullptr, nullptr, nullptr, kProp, nullptr},
      {"gather", nullptr, Gather, nullptr, nullptr, nullptr, kProp, nullptr},
      {"threadCpu", nullptr, ThreadCpu, nullptr, nullptr, nullptr, kProp, nullptr},
      {"interfaceVersion", nullptr, Interface, nullptr, nullptr, nullptr, kProp, nullptr},
      {"isa", nullptr, Isa, nullptr, nullptr, nullptr, kProp, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
