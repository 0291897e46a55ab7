// fp32 peak of this machine as oneDNN reaches it: dnnl_sgemm on square matrices, repeated, timed.
// `vmat bench train-step` divides its achieved GFLOP/s by this (same run, same thread count).
#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "ops.h"

namespace vmat {

double sgemmGflops(int64_t n, double seconds, int threads) {
  if (n < 16) throw std::runtime_error("vmat_native: sgemmGflops: n must be >= 16");
  if (threads > 0) omp_set_num_threads(threads);
  std::vector<float> a(n * n), b(n * n), c(n * n, 0.f);
  for (int64_t i = 0; i < n * n; ++i) {
    a[i] = float((i * 7) % 13) / 13.f - 0.5f;
    b[i] = float((i * 5) % 11) / 11.f - 0.5f;
  }
  auto call = [&] {
    if (dnnl_sgemm('N', 'N', n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n) != dnnl_success)
      throw std::runtime_error("vmat_native: dnnl_sgemm failed");
  };
  call();  // warm-up (kernel generation, page faults)
  const double flops = 2.0 * double(n) * double(n) * double(n);
  double best = 0;
  const double t0 = omp_get_wtime();
  // best of short batches: a shared machine's other jobs lower some batches, never raise them
  while (omp_get_wtime() - t0 < seconds) {
    const double b0 = omp_get_wtime();
    int reps = 0;
    do {
      call();
      ++reps;
    } while (omp_get_wtime() - b0 < 0.1);
    best = std::max(best, reps * flops / (omp_get_wtime() - b0) / 1e9);
  }
  return best;
}

}  // namespace vmat
