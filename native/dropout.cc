// Map dropout's mask: the xorshift32 stream of src/model/map-dropout.ts (same seed, same
// decisions), as a masked gather or as bits.
#include "isa.h"

namespace dfan {
namespace DFAN_CAT(isa_, DFAN_ISA) {

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

void gatherDrop(const float* src, long per, const int32_t* idx, long rows, float* dst, double p,
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

void maskBits(long n, double p, uint32_t seed, uint16_t* bits) {
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

}  // namespace isa_
}  // namespace dfan
