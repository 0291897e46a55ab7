// Strided row copy behind channel concat / split on NDHWC (see lib/engine/cpu_kernels.ts),
// multi-threaded with OpenMP for large copies.
#include <omp.h>

#include "ops.h"

namespace vmat {

void copyRuns(const float* src, int64_t srcOff, int64_t srcStride, float* dst, int64_t dstOff, int64_t dstStride,
              int64_t rows, int64_t run) {
#pragma omp parallel for schedule(static) if (rows * run > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = src + srcOff + r * srcStride;
    float* d = dst + dstOff + r * dstStride;
    for (int64_t j = 0; j < run; ++j) d[j] = s[j];
  }
}

}  // namespace vmat
