// GroupNorm with a fused activation, forward and backward, on channels-last x[N, S, C].
// Written by hand because oneDNN 2.6 (Debian) has no group normalization primitive (it came in
// oneDNN 3.3); the loops are plain per-channel passes that the compiler vectorizes, with OpenMP
// over the spatial axis. Semantics match torch.nn.GroupNorm (biased variance) followed by the
// activation; statistics are accumulated in double.
#include <omp.h>

#include <cmath>
#include <vector>

#include "ops.h"

namespace vmat {
namespace {

inline float sigmoidf(float z) {
  // clamp keeps expf finite under -ffast-math; sigmoid(+-30) is 1 / 0 to float precision anyway
  const float zc = z < -30.f ? -30.f : (z > 30.f ? 30.f : z);
  return 1.f / (1.f + std::exp(-zc));
}

// Per-channel sums of x and x^2 over S for one sample, reduced to per-group mean and 1/std. Each
// thread's partial sums are added in thread order, so the result depends only on the thread count.
void groupStats(int64_t s, int64_t c, int64_t groups, float eps, const float* x, double* mean, double* rstd) {
  const int nt = omp_get_max_threads();
  std::vector<double> part(size_t(nt) * 2 * c, 0.0);
#pragma omp parallel num_threads(nt)
  {
    double* ls = part.data() + size_t(omp_get_thread_num()) * 2 * c;
    double* lq = ls + c;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < s; ++i) {
      const float* xi = x + i * c;
      for (int64_t k = 0; k < c; ++k) {
        const double v = xi[k];
        ls[k] += v;
        lq[k] += v * v;
      }
    }
  }
  std::vector<double> sum(c, 0.0), sq(c, 0.0);
  for (int t = 0; t < nt; ++t)
    for (int64_t k = 0; k < c; ++k) {
      sum[k] += part[size_t(t) * 2 * c + k];
      sq[k] += part[size_t(t) * 2 * c + c + k];
    }
  const int64_t cg = c / groups;
  const double m = double(s) * double(cg);
  for (int64_t g = 0; g < groups; ++g) {
    double a = 0, b = 0;
    for (int64_t k = g * cg; k < (g + 1) * cg; ++k) {
      a += sum[k];
      b += sq[k];
    }
    const double mu = a / m;
    double var = b / m - mu * mu;
    if (var < 0) var = 0;
    mean[g] = mu;
    rstd[g] = 1.0 / std::sqrt(var + double(eps));
  }
}

// Statistics of sample ni: from `stats` when given (statsIn), else computed (and stored there if given).
void sampleStats(int64_t ni, int64_t s, int64_t c, int64_t groups, float eps, const float* xn, double* stats, bool statsIn,
                 double* mean, double* rstd) {
  if (stats && statsIn) {
    for (int64_t g = 0; g < groups; ++g) {
      mean[g] = stats[2 * (ni * groups + g)];
      rstd[g] = stats[2 * (ni * groups + g) + 1];
    }
    return;
  }
  groupStats(s, c, groups, eps, xn, mean, rstd);
  if (stats)
    for (int64_t g = 0; g < groups; ++g) {
      stats[2 * (ni * groups + g)] = mean[g];
      stats[2 * (ni * groups + g) + 1] = rstd[g];
    }
}

}  // namespace

void groupNormFwd(int64_t n, int64_t s, int64_t c, int64_t groups, float eps, Act act, const float* x,
                  const float* gamma, const float* beta, float* y, double* stats, bool statsIn) {
  const int64_t cg = c / groups;
  std::vector<double> mean(groups), rstd(groups);
  std::vector<float> a(c), b(c);
  for (int64_t ni = 0; ni < n; ++ni) {
    const float* xn = x + ni * s * c;
    float* yn = y + ni * s * c;
    sampleStats(ni, s, c, groups, eps, xn, stats, statsIn, mean.data(), rstd.data());
    for (int64_t k = 0; k < c; ++k) {
      const int64_t g = k / cg;
      a[k] = float(rstd[g] * gamma[k]);
      b[k] = float(beta[k] - mean[g] * rstd[g] * gamma[k]);
    }
    const float* pa = a.data();
    const float* pb = b.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < s; ++i) {
      const float* xi = xn + i * c;
      float* yi = yn + i * c;
      if (act == Act::Relu) {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) {
          const float z = pa[k] * xi[k] + pb[k];
          yi[k] = z > 0.f ? z : 0.f;
        }
      } else if (act == Act::Silu) {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) {
          const float z = pa[k] * xi[k] + pb[k];
          yi[k] = z * sigmoidf(z);
        }
      } else {
#pragma omp simd
        for (int64_t k = 0; k < c; ++k) yi[k] = pa[k] * xi[k] + pb[k];
      }
    }
  }
}

void groupNormBwd(int64_t n, int64_t s, int64_t c, int64_t groups, float eps, Act act, const float* x,
                  const float* gamma, const float* beta, const float* dy, float* dx, float* dgamma,
                  float* dbeta, const double* stats) {
  const int64_t cg = c / groups;
  const double m = double(s) * double(cg);
  std::vector<double> mean(groups), rstd(groups), dg(c, 0.0), db(c, 0.0);
  std::vector<float> a(c), b(c), mf(c), rf(c), m1(c), m2(c);
  for (int64_t ni = 0; ni < n; ++ni) {
    const float* xn = x + ni * s * c;
    const float* dyn = dy + ni * s * c;
    float* dxn = dx + ni * s * c;
    sampleStats(ni, s, c, groups, eps, xn, const_cast<double*>(stats), stats != nullptr, mean.data(), rstd.data());
    for (int64_t k = 0; k < c; ++k) {
      const int64_t g = k / cg;
      a[k] = float(rstd[g] * gamma[k]);
      b[k] = float(beta[k] - mean[g] * rstd[g] * gamma[k]);
      mf[k] = float(mean[g]);
      rf[k] = float(rstd[g]);
    }
    // pass 1: dz = dy * act'(z) into dx; per-channel sums of dz and dz * xhat
    std::vector<double> sdz(c, 0.0), sdzx(c, 0.0);
    const float *pa = a.data(), *pb = b.data(), *pm = mf.data(), *pr = rf.data();
    const int nt = omp_get_max_threads();
    std::vector<double> part(size_t(nt) * 2 * c, 0.0);
#pragma omp parallel num_threads(nt)
    {
      double* l1 = part.data() + size_t(omp_get_thread_num()) * 2 * c;
      double* l2 = l1 + c;
#pragma omp for schedule(static)
      for (int64_t i = 0; i < s; ++i) {
        const float* xi = xn + i * c;
        const float* dyi = dyn + i * c;
        float* dzi = dxn + i * c;
        if (act == Act::Relu) {
#pragma omp simd
          for (int64_t k = 0; k < c; ++k) {
            const float z = pa[k] * xi[k] + pb[k];
            dzi[k] = z > 0.f ? dyi[k] : 0.f;
          }
        } else if (act == Act::Silu) {
#pragma omp simd
          for (int64_t k = 0; k < c; ++k) {
            const float z = pa[k] * xi[k] + pb[k];
            const float sg = sigmoidf(z);
            dzi[k] = dyi[k] * sg * (1.f + z * (1.f - sg));
          }
        } else {
#pragma omp simd
          for (int64_t k = 0; k < c; ++k) dzi[k] = dyi[k];
        }
        for (int64_t k = 0; k < c; ++k) {
          const double xh = double((xi[k] - pm[k]) * pr[k]);
          l1[k] += dzi[k];
          l2[k] += dzi[k] * xh;
        }
      }
    }
    // partial sums added in thread order: deterministic for a given thread count
    for (int t = 0; t < nt; ++t)
      for (int64_t k = 0; k < c; ++k) {
        sdz[k] += part[size_t(t) * 2 * c + k];
        sdzx[k] += part[size_t(t) * 2 * c + c + k];
      }
    for (int64_t k = 0; k < c; ++k) {
      dg[k] += sdzx[k];
      db[k] += sdz[k];
    }
    for (int64_t g = 0; g < groups; ++g) {
      double t1 = 0, t2 = 0;
      for (int64_t k = g * cg; k < (g + 1) * cg; ++k) {
        t1 += gamma[k] * sdz[k];
        t2 += gamma[k] * sdzx[k];
      }
      for (int64_t k = g * cg; k < (g + 1) * cg; ++k) {
        m1[k] = float(t1 / m);
        m2[k] = float(t2 / m);
      }
    }
    // pass 2: dx = rstd * (gamma * dz - mean(dxhat) - xhat * mean(dxhat * xhat))
    const float *p1 = m1.data(), *p2 = m2.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < s; ++i) {
      const float* xi = xn + i * c;
      float* di = dxn + i * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) {
        const float xh = (xi[k] - pm[k]) * pr[k];
        di[k] = pr[k] * (gamma[k] * di[k] - p1[k] - xh * p2[k]);
      }
    }
  }
  for (int64_t k = 0; k < c; ++k) {
    dgamma[k] = float(dg[k]);
    dbeta[k] = float(db[k]);
  }
}

}  // namespace vmat
