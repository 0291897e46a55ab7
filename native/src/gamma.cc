// Gamma-index shell search: the algorithm and arithmetic of lib/eval/gamma_kernel.ts (see its header for
// the definition, pymedphys gamma_shell, and the exact pruning rules), run over reference points with
// OpenMP dynamic scheduling. Written by hand because no library does pymedphys's shell search; the
// JavaScript kernel stays the reference it is tested against (bit-identical maps).
//
// Differences from the JS loop that change no result:
//  - the dose arrays are read in their own type (float32 or float64) and widened per value;
//  - the table is grouped here (gammaBuildTable, the same arithmetic as buildShellTable) from the
//    shell coordinates JS computes (Math.sin / Math.cos), without the JS sub-groups: all points of a
//    surviving cell are interpolated, 8 at a time (the JS sub-group range tests only skip points that
//    cannot lower the minimum);
//  - per-cell data is packed into one struct array (flat offsets, strides) for locality;
//  - a point whose search could run past the table end is reported (out = -1) rather than growing the
//    table here (only with max_gamma = infinity; the caller grows the table and searches it again).
#include "gamma.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <vector>

namespace vmat {

namespace {

struct Cell {
  int64_t base;            // flat offset of the lower corner from the reference voxel (interior points)
  int32_t o0, o1, o2;      // integer offset of the lower corner per axis
  int32_t u0, u1, u2;      // 1 when the cell spans to the next plane on that axis
  int64_t d0, d1, d2;      // flat corner strides (0 on an axis the cell does not span)
  int32_t vFrom, vTo;      // the cell's points in the padded SoA arrays (multiple of kGammaLanes)
  int32_t nReal;           // unpadded point count
  int32_t marginal;
};

constexpr double kSnap = 1e-9;  // = SNAP in gamma_shells.ts

template <typename T>
void cellRange(const T* ev, const int64_t* shape, std::vector<T>& mn, std::vector<T>& mx, int threads) {
  const int64_t n0 = shape[0], n1 = shape[1], n2 = shape[2];
  const int64_t s0 = n1 * n2, s1 = n2, n = n0 * s0;
  mn.resize(n);
  mx.resize(n);
  std::vector<T> tmn(n), tmx(n);
  // pass along axis 0, then 1, then 2 (the JS order; min/max are exact, the order only matters for NaN)
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i0 = 0; i0 < n0; ++i0) {
    const int64_t j0 = i0 == n0 - 1 ? i0 : i0 + 1;
    for (int64_t r = 0; r < s0; ++r) {
      const T a = ev[i0 * s0 + r], b = ev[j0 * s0 + r];
      tmn[i0 * s0 + r] = a < b ? a : b;
      tmx[i0 * s0 + r] = a > b ? a : b;
    }
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i0 = 0; i0 < n0; ++i0) {
    for (int64_t i1 = 0; i1 < n1; ++i1) {
      const int64_t j1 = i1 == n1 - 1 ? i1 : i1 + 1;
      const int64_t a = i0 * s0 + i1 * s1, b = i0 * s0 + j1 * s1;
      for (int64_t i2 = 0; i2 < n2; ++i2) {
        mn[a + i2] = tmn[a + i2] < tmn[b + i2] ? tmn[a + i2] : tmn[b + i2];
        mx[a + i2] = tmx[a + i2] > tmx[b + i2] ? tmx[a + i2] : tmx[b + i2];
      }
    }
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < n0 * n1; ++r) {
    T* pmn = mn.data() + r * n2;
    T* pmx = mx.data() + r * n2;
    for (int64_t i2 = 0; i2 + 1 < n2; ++i2) {
      pmn[i2] = pmn[i2] < pmn[i2 + 1] ? pmn[i2] : pmn[i2 + 1];
      pmx[i2] = pmx[i2] > pmx[i2 + 1] ? pmx[i2] : pmx[i2 + 1];
    }
  }
}

}  // namespace

template <typename T>
int64_t gammaSearch(const GammaParams& p, const GammaTable& t, const T* ref, const T* ev, const int32_t* points,
                    int64_t nPoints, double* out, int threads) {
  if (threads < 1) threads = 1;
  const int64_t n0 = p.shape[0], n1 = p.shape[1], n2 = p.shape[2];
  const int64_t s0 = n1 * n2, s1 = n2;
  std::vector<T> cellMin, cellMax;
  cellRange(ev, p.shape, cellMin, cellMax, threads);
  const int64_t nCells = t.cellStart[t.nShells];
  std::vector<Cell> cells(nCells);
  for (int64_t c = 0; c < nCells; ++c) {
    Cell& k = cells[c];
    k.o0 = t.off0[c];
    k.o1 = t.off1[c];
    k.o2 = t.off2[c];
    k.u0 = t.up0[c];
    k.u1 = t.up1[c];
    k.u2 = t.up2[c];
    k.base = int64_t(k.o0) * s0 + int64_t(k.o1) * s1 + k.o2;
    k.d0 = int64_t(k.u0) * s0;
    k.d1 = int64_t(k.u1) * s1;
    k.d2 = k.u2;
    k.vFrom = t.vStart[c];
    k.vTo = t.vStart[c + 1];
    k.nReal = t.nReal[c];
    k.marginal = t.marginal[c];
  }
  const double* pf0 = t.f0.data();
  const double* pf1 = t.f1.data();
  const double* pf2 = t.f2.data();
  const double* pr0 = t.r0.data();
  const double* pr1 = t.r1.data();
  const double* pr2 = t.r2.data();
  const double frac0 = p.dosePercent / 100;
  const double h0 = p.spacing[0], h1 = p.spacing[1], h2 = p.spacing[2];
  const double lim0 = double(n0 - 1) * h0, lim1 = double(n1 - 1) * h1, lim2 = double(n2 - 1) * h2;
  const T* cmin = cellMin.data();
  const T* cmax = cellMax.data();
  const Cell* cl = cells.data();
  int64_t incomplete = 0;

#pragma omp parallel for num_threads(threads) schedule(dynamic, 256) reduction(+ : incomplete)
  for (int64_t q = 0; q < nPoints; ++q) {
    const int64_t idx = points[q];
    const double R = double(ref[idx]);
    const double delta = p.local ? std::fabs(R) * frac0 : p.normalisation * frac0;
    if (!(delta > 0)) {
      out[idx] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const int64_t i0 = idx / s0, i1 = (idx / s1) % n1, i2 = idx % n2;
    double best = p.maxGamma;
    double best2 = best * best;
    // strict (as isInterior in gamma_kernel.ts): interior cells never touch a boundary plane
    const bool interior = i0 > t.reachLo[0] && i0 + t.reachHi[0] < n0 - 1 && i1 > t.reachLo[1] &&
                          i1 + t.reachHi[1] < n1 - 1 && i2 > t.reachLo[2] && i2 + t.reachHi[2] < n2 - 1;
    bool ranOut = false;
    for (int32_t k = 0;; ++k) {
      if (k >= t.nShells) {
        if (!t.complete) ranOut = true;
        break;
      }
      const double dd2 = t.dd2[k];
      if (dd2 >= best2) break;
      double thr = delta * std::sqrt(best2 - dd2);
      bool found = false;
      const int32_t cEnd = t.cellStart[k + 1];
      for (int32_t c = t.cellStart[k]; c < cEnd; ++c) {
        const Cell& K = cl[c];
        int64_t base;
        bool edge = false;
        if (interior) {
          base = idx + K.base;
        } else {
          const int64_t a0 = i0 + K.o0;
          if (a0 < 0 || a0 + K.u0 > n0 - 1) continue;
          const int64_t a1 = i1 + K.o1;
          if (a1 < 0 || a1 + K.u1 > n1 - 1) continue;
          const int64_t a2 = i2 + K.o2;
          if (a2 < 0 || a2 + K.u2 > n2 - 1) continue;
          base = a0 * s0 + a1 * s1 + a2;
          const int32_t mg = K.marginal;
          edge = mg != 0 && (((mg & 1) != 0 && (a0 == 0 || a0 == n0 - 1)) ||
                             ((mg & 2) != 0 && (a1 == 0 || a1 == n1 - 1)) ||
                             ((mg & 4) != 0 && (a2 == 0 || a2 == n2 - 1)));
        }
        const double lo = double(cmin[base]) - R;
        const double hi = R - double(cmax[base]);
        if ((lo > hi ? lo : hi) >= thr) continue;
        const int64_t d0 = K.d0, d1 = K.d1, d2 = K.d2;
        const double c000 = ev[base];
        const double c001 = ev[base + d2];
        const double c010 = ev[base + d1];
        const double c011 = ev[base + d1 + d2];
        const double c100 = ev[base + d0];
        const double c101 = ev[base + d0 + d2];
        const double c110 = ev[base + d0 + d1];
        const double c111 = ev[base + d0 + d1 + d2];
        if (!edge) {
          // every point of the cell, kLanes at a time: the same operations as the scalar loop in
          // gamma_kernel.ts per point, so the minimum is bit-identical (|v - R| = the JS
          // "v > R ? v - R : R - v"; min is exact). The JS sub-group range tests only skip points
          // that cannot lower the minimum, so evaluating them changes nothing.
          double m = thr;
#pragma omp simd reduction(min : m)
          for (int32_t j = K.vFrom; j < K.vTo; ++j) {
            const double f0 = pf0[j], f1 = pf1[j], f2 = pf2[j];
            const double x00 = c000 + f2 * (c001 - c000);
            const double x01 = c010 + f2 * (c011 - c010);
            const double x10 = c100 + f2 * (c101 - c100);
            const double x11 = c110 + f2 * (c111 - c110);
            const double y0 = x00 + f1 * (x01 - x00);
            const double y1 = x10 + f1 * (x11 - x10);
            const double v = y0 + f0 * (y1 - y0);
            const double diff = std::fabs(v - R);
            m = diff < m ? diff : m;
          }
          if (m < thr) {
            thr = m;
            found = true;
          }
          continue;
        }
        // a cell on the first or last grid plane with points snapped onto it: the exact pymedphys
        // in-grid test per point (rare; scalar)
        for (int32_t j = K.vFrom, jEnd = K.vFrom + K.nReal; j < jEnd; ++j) {
          const double x0 = double(i0) * h0 + pr0[j];
          const double x1 = double(i1) * h1 + pr1[j];
          const double x2 = double(i2) * h2 + pr2[j];
          if (!(x0 >= 0 && x0 <= lim0 && x1 >= 0 && x1 <= lim1 && x2 >= 0 && x2 <= lim2)) continue;
          const double f0 = pf0[j], f1 = pf1[j], f2 = pf2[j];
          const double x00 = c000 + f2 * (c001 - c000);
          const double x01 = c010 + f2 * (c011 - c010);
          const double x10 = c100 + f2 * (c101 - c100);
          const double x11 = c110 + f2 * (c111 - c110);
          const double y0 = x00 + f1 * (x01 - x00);
          const double y1 = x10 + f1 * (x11 - x10);
          const double v = y0 + f0 * (y1 - y0);
          const double diff = v > R ? v - R : R - v;
          if (diff < thr) {
            thr = diff;
            found = true;
          }
        }
      }
      if (found) {
        const double g = thr / delta;
        best2 = g * g + dd2;
        best = std::sqrt(best2);
      }
    }
    if (ranOut) {
      out[idx] = -1;
      incomplete += 1;
    } else {
      out[idx] = std::isinf(best) ? std::numeric_limits<double>::quiet_NaN() : best;
    }
  }
  return incomplete;
}

void gammaBuildTable(const double* coords, const int32_t* shellStart, const double* dd2, int32_t nShells,
                     bool complete, const double* spacing, GammaTable& t) {
  t = GammaTable{};
  t.nShells = nShells;
  t.complete = complete;
  t.dd2.assign(dd2, dd2 + nShells);
  struct Group {
    int32_t o[3], u[3], marginal;
    std::vector<double> f, raw;  // 3 per point
  };
  for (int32_t k = 0; k < nShells; ++k) {
    t.cellStart.push_back(int32_t(t.off0.size()));
    std::vector<Group> groups;  // in order of first appearance, as the JS Map
    std::unordered_map<int64_t, int32_t> byKey;
    for (int32_t p = shellStart[k]; p < shellStart[k + 1]; ++p) {
      int32_t o[3], u[3];
      double f[3];
      for (int a = 0; a < 3; ++a) {
        const double v = coords[3 * int64_t(p) + a] / spacing[a];
        double fl = std::floor(v);
        double fr = v - fl;
        if (fr < kSnap) fr = 0;
        else if (fr > 1 - kSnap) {
          fl += 1;
          fr = 0;
        }
        o[a] = int32_t(fl);
        u[a] = fr == 0 ? 0 : 1;
        f[a] = fr;
      }
      const int64_t key = ((((int64_t(o[0]) + 4096) * 8192 + (o[1] + 4096)) * 8192 + (o[2] + 4096)) << 3) |
                          (u[0] << 2) | (u[1] << 1) | u[2];
      auto it = byKey.find(key);
      int32_t gi;
      if (it == byKey.end()) {
        gi = int32_t(groups.size());
        byKey.emplace(key, gi);
        Group g{};
        for (int a = 0; a < 3; ++a) {
          g.o[a] = o[a];
          g.u[a] = u[a];
        }
        groups.push_back(std::move(g));
      } else {
        gi = it->second;
      }
      Group& g = groups[gi];
      for (int a = 0; a < 3; ++a) {
        const double raw = coords[3 * int64_t(p) + a];
        g.f.push_back(f[a]);
        g.raw.push_back(raw);
        if (u[a] == 0 && raw != double(o[a]) * spacing[a]) g.marginal |= 1 << a;
      }
    }
    for (const Group& g : groups) {
      t.off0.push_back(g.o[0]);
      t.off1.push_back(g.o[1]);
      t.off2.push_back(g.o[2]);
      t.up0.push_back(g.u[0]);
      t.up1.push_back(g.u[1]);
      t.up2.push_back(g.u[2]);
      t.marginal.push_back(g.marginal);
      t.vStart.push_back(int32_t(t.f0.size()));
      const int32_t n = int32_t(g.f.size() / 3);
      t.nReal.push_back(n);
      const int32_t padded = (n + kGammaLanes - 1) / kGammaLanes * kGammaLanes;
      for (int32_t q = 0; q < padded; ++q) {
        const int32_t s = q < n ? q : 0;  // padding repeats the first point: the minimum is unchanged
        t.f0.push_back(g.f[3 * s]);
        t.f1.push_back(g.f[3 * s + 1]);
        t.f2.push_back(g.f[3 * s + 2]);
        t.r0.push_back(g.raw[3 * s]);
        t.r1.push_back(g.raw[3 * s + 1]);
        t.r2.push_back(g.raw[3 * s + 2]);
      }
    }
  }
  t.cellStart.push_back(int32_t(t.off0.size()));
  t.vStart.push_back(int32_t(t.f0.size()));
  for (size_t c = 0; c < t.off0.size(); ++c) {
    const int32_t o[3] = {t.off0[c], t.off1[c], t.off2[c]}, u[3] = {t.up0[c], t.up1[c], t.up2[c]};
    for (int a = 0; a < 3; ++a) {
      t.reachLo[a] = std::max(t.reachLo[a], -o[a]);
      t.reachHi[a] = std::max(t.reachHi[a], o[a] + u[a]);
    }
  }
}

template <typename T>
void gammaScan(const T* a, int64_t n, double* maxOut, int64_t* firstBad) {
  double mx = -std::numeric_limits<double>::infinity();
  int64_t bad = -1;
  for (int64_t i = 0; i < n; ++i) {
    const double v = double(a[i]);
    if (!std::isfinite(v)) {
      bad = i;
      break;
    }
    if (v > mx) mx = v;
  }
  *maxOut = mx;
  *firstBad = bad;
}

template <typename T>
int64_t gammaSelect(const T* ref, const uint8_t* mask, int64_t n, double cutoff, int32_t* idx) {
  int64_t k = 0;
  if (mask) {
    for (int64_t i = 0; i < n; ++i)
      if (double(ref[i]) >= cutoff && mask[i]) idx[k++] = int32_t(i);
  } else {
    for (int64_t i = 0; i < n; ++i)
      if (double(ref[i]) >= cutoff) idx[k++] = int32_t(i);
  }
  return k;
}

template int64_t gammaSearch<float>(const GammaParams&, const GammaTable&, const float*, const float*,
                                    const int32_t*, int64_t, double*, int);
template int64_t gammaSearch<double>(const GammaParams&, const GammaTable&, const double*, const double*,
                                     const int32_t*, int64_t, double*, int);
template void gammaScan<float>(const float*, int64_t, double*, int64_t*);
template void gammaScan<double>(const double*, int64_t, double*, int64_t*);
template int64_t gammaSelect<float>(const float*, const uint8_t*, int64_t, double, int32_t*);
template int64_t gammaSelect<double>(const double*, const uint8_t*, int64_t, double, int32_t*);

}  // namespace vmat
