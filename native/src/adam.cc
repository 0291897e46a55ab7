// Fused Adam / AdamW updates of one float32 variable (OpenMP over elements). Compiled in the exact
// target (no -ffast-math, no FMA contraction): each float operation is the one the JavaScript updates
// perform (lib/engine/adam.ts = tfjs Adam; lib/train/adamw.ts = torch AdamW, as tfjs float32 ops),
// in the same order, so the results are bit-identical to them for any thread count.
#include <cmath>
#include <cstdint>

#include "ops.h"

namespace vmat {

void adamUpdate(int mode, int64_t n, const float* x, const float* g, const float* m, const float* v, float* xOut,
                float* mOut, float* vOut, const float* c) {
  if (mode == 0) {
    // tfjs AdamOptimizer: c = [b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps, -lr]
    const float b1 = c[0], omb1 = c[1], b2 = c[2], omb2 = c[3], omab1 = c[4], omab2 = c[5], eps = c[6], negLr = c[7];
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < n; ++k) {
      const float gk = g[k];
      const float mk = m[k] * b1 + gk * omb1;
      const float vk = v[k] * b2 + (gk * gk) * omb2;
      mOut[k] = mk;
      vOut[k] = vk;
      const float bm = mk / omab1;
      const float bv = vk / omab2;
      xOut[k] = x[k] + (bm / (std::sqrt(bv) + eps)) * negLr;
    }
  } else {
    // torch AdamW: c = [b1, 1-b1, b2, 1-b2, 1 - lr*wd, sqrt(1-b2^t), eps, lr/(1-b1^t)]
    const float b1 = c[0], omb1 = c[1], b2 = c[2], omb2 = c[3], decay = c[4], bc2Sqrt = c[5], eps = c[6],
                lrBc1 = c[7];
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < n; ++k) {
      const float gk = g[k];
      const float mk = m[k] * b1 + gk * omb1;
      const float vk = v[k] * b2 + (gk * gk) * omb2;
      mOut[k] = mk;
      vOut[k] = vk;
      const float denom = std::sqrt(vk) / bc2Sqrt + eps;
      xOut[k] = x[k] * decay - (mk / denom) * lrBc1;
    }
  }
}

}  // namespace vmat
