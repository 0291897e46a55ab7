// x2 trilinear up-sampling with PyTorch semantics (align_corners=False, edges clamped), NDHWC,
// as three separable 1-D passes (D, then H, then W, like lib/engine/ops_reference.ts); the
// backward is the exact adjoint of each pass, applied in reverse order. Written by hand: oneDNN
// 2.6's resampling primitive crashed (SIGSEGV) on this machine for 16^3 x 32 inputs.
#include <omp.h>

#include <vector>

#include "ops.h"

namespace vmat {
namespace {

// x viewed as [outer, n, inner] -> y [outer, 2n, inner]:
// y[2i] = .75 x[i] + .25 x[max(i-1, 0)],  y[2i+1] = .75 x[i] + .25 x[min(i+1, n-1)]
void up1d(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + (o * n + i) * inner;
      const float* xp = x + (o * n + (i > 0 ? i - 1 : 0)) * inner;
      const float* xn = x + (o * n + (i < n - 1 ? i + 1 : n - 1)) * inner;
      float* ye = y + (o * 2 * n + 2 * i) * inner;
      float* yo = ye + inner;
#pragma omp simd
      for (int64_t k = 0; k < inner; ++k) {
        ye[k] = xi[k] * 0.75f + xp[k] * 0.25f;
        yo[k] = xi[k] * 0.75f + xn[k] * 0.25f;
      }
    }
}

// adjoint of up1d: dy [outer, 2n, inner] -> dx [outer, n, inner]
void up1dAdjoint(const float* dy, float* dx, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i) {
      const float* base = dy + o * 2 * n * inner;
      const float* e = base + 2 * i * inner;
      const float* od = e + inner;
      const float* lo = base + (i > 0 ? 2 * i - 1 : 0) * inner;             // odd output 2i-1 (or y[0] at the edge)
      const float* hi = base + (i < n - 1 ? 2 * i + 2 : 2 * n - 1) * inner;  // even output 2i+2 (or y[2n-1])
      float* d = dx + (o * n + i) * inner;
#pragma omp simd
      for (int64_t k = 0; k < inner; ++k) d[k] = (e[k] + od[k]) * 0.75f + (lo[k] + hi[k]) * 0.25f;
    }
}

}  // namespace

void upsample2x(bool backward, const int64_t* sm, const float* in, float* out) {
  const int64_t n = sm[0], d = sm[1], h = sm[2], w = sm[3], c = sm[4];
  if (!backward) {
    std::vector<float> t1(size_t(n * 2 * d * h * w * c)), t2(size_t(n * 2 * d * 2 * h * w * c));
    up1d(in, t1.data(), n, d, h * w * c);
    up1d(t1.data(), t2.data(), n * 2 * d, h, w * c);
    up1d(t2.data(), out, n * 2 * d * 2 * h, w, c);
  } else {
    std::vector<float> t2(size_t(n * 2 * d * 2 * h * w * c)), t1(size_t(n * 2 * d * h * w * c));
    up1dAdjoint(in, t2.data(), n * 2 * d * 2 * h, w, c);
    up1dAdjoint(t2.data(), t1.data(), n * 2 * d, h, w * c);
    up1dAdjoint(t1.data(), out, n, d, h * w * c);
  }
}

}  // namespace vmat
