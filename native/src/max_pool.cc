// 2x2x2 max pooling (stride 2, 'valid') on NDHWC, forward and backward. Written by hand because
// tfjs' gradient sends each window's gradient to the LAST maximum in (d, h, w) scan order (its
// forward keeps `pixel >= max`), and oneDNN's workspace-based backward would need the forward's
// workspace kept alive between the two calls; recomputing the argmax from x here is cheap.
#include <omp.h>

#include "ops.h"

namespace vmat {

void maxPool2xFwd(const int64_t* xs, const float* x, float* y) {
  const int64_t n = xs[0], d = xs[1], h = xs[2], w = xs[3], c = xs[4];
  const int64_t od = d / 2, oh = h / 2, ow = w / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t z = 0; z < od; ++z)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t q = 0; q < ow; ++q) {
          float* yo = y + (((b * od + z) * oh + r) * ow + q) * c;
          const float* x0 = x + (((b * d + 2 * z) * h + 2 * r) * w + 2 * q) * c;
          for (int64_t k = 0; k < c; ++k) yo[k] = x0[k];
          for (int a = 0; a < 2; ++a)
            for (int bb = 0; bb < 2; ++bb)
              for (int cc = 0; cc < 2; ++cc) {
                const float* xi = x0 + ((a * h + bb) * w + cc) * c;
                for (int64_t k = 0; k < c; ++k) yo[k] = xi[k] > yo[k] ? xi[k] : yo[k];
              }
        }
}

void maxPool2xBwd(const int64_t* xs, const float* x, const float* dy, float* dx) {
  const int64_t n = xs[0], d = xs[1], h = xs[2], w = xs[3], c = xs[4];
  const int64_t od = d / 2, oh = h / 2, ow = w / 2;
  const int64_t total = n * d * h * w * c;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; ++i) dx[i] = 0.f;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t z = 0; z < od; ++z)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t q = 0; q < ow; ++q) {
          const float* g = dy + (((b * od + z) * oh + r) * ow + q) * c;
          const int64_t base = (((b * d + 2 * z) * h + 2 * r) * w + 2 * q) * c;
          for (int64_t k = 0; k < c; ++k) {
            float best = -__builtin_inff();
            int64_t at = -1;
            for (int a = 0; a < 2; ++a)
              for (int bb = 0; bb < 2; ++bb)
                for (int cc = 0; cc < 2; ++cc) {
                  const int64_t off = base + ((a * h + bb) * w + cc) * c + k;
                  if (x[off] >= best) {  // tfjs keeps the last of equal maxima
                    best = x[off];
                    at = off;
                  }
                }
            if (at >= 0) dx[at] += g[k];
          }
        }
}

}  // namespace vmat
