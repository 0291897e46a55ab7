// The gamma-index shell search of lib/eval/gamma_kernel.ts in C++ (OpenMP over reference points).
// Compiled in the exact target (no -ffast-math, no FMA contraction): every double operation is the
// one the JavaScript kernel performs, in the same order, so the maps are bit-identical to it.
#pragma once
#include <cstdint>

namespace vmat {

// The shell table of lib/eval/gamma_shells.ts (buildShellTable), borrowed from JS typed arrays.
struct GammaTable {
  int32_t nShells;
  bool complete;
  const double* dd2;         // [nShells]
  const int32_t* cellStart;  // [nShells + 1]
  const int32_t *off0, *off1, *off2, *up0, *up1, *up2, *marginal;  // [nCells]
  const int32_t* subStart;   // [nCells + 1]
  const int32_t* ptStart;    // [nGroups + 1]
  const double* box;         // [6 nGroups]
  const double* frac;        // [3 nPoints]
  const double* raw;         // [3 nPoints]
  int32_t reachLo[3], reachHi[3];
};

struct GammaParams {
  int64_t shape[3];
  double spacing[3];
  double dosePercent;
  double maxGamma;  // +inf when not given
  bool local;
  double normalisation;
};

// Reference points: flat indices points[0..nPoints). out[points[q]] receives gamma (NaN where undefined).
// A point whose search ran past the end of an incomplete table gets out = -1 (the caller grows the
// table and searches it again). T = float or double (the dose arrays' type; values widen to double
// exactly, so the result does not depend on it). Returns the number of points marked -1.
template <typename T>
int64_t gammaSearch(const GammaParams& p, const GammaTable& t, const T* ref, const T* ev, const int32_t* points,
                    int64_t nPoints, double* out, int threads);

// max over the array and the index of the first non-finite value (-1 if none), in one pass.
template <typename T>
void gammaScan(const T* a, int64_t n, double* maxOut, int64_t* firstBad);

// Flat indices i with ref[i] >= cutoff and (mask == nullptr or mask[i] != 0), in increasing order.
// Returns their count; idx must hold n entries.
template <typename T>
int64_t gammaSelect(const T* ref, const uint8_t* mask, int64_t n, double cutoff, int32_t* idx);

}  // namespace vmat
