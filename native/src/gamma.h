// The gamma-index shell search of lib/eval/gamma_kernel.ts in C++ (OpenMP over reference points).
// Compiled in the exact target (no -ffast-math, no FMA contraction): every double operation is the
// one the JavaScript kernel performs, in the same order, so the maps are bit-identical to it.
#pragma once
#include <cstdint>
#include <vector>

namespace vmat {

// The search pattern: shells in search order, each a list of grid cells holding its points (in voxel
// units: integer lower-corner offset + trilinear fractions), grouped exactly as buildShellTable in
// lib/eval/gamma_shells.ts groups them (same floor / snap arithmetic), so the native search
// evaluates the same points at the same fractions as the JavaScript kernel.
struct GammaTable {
  int32_t nShells = 0;
  bool complete = false;
  std::vector<double> dd2;         // [nShells] (distance / dta)^2
  std::vector<int32_t> cellStart;  // [nShells + 1]
  std::vector<int32_t> off0, off1, off2, up0, up1, up2, marginal;  // per cell
  std::vector<int32_t> vStart;     // [nCells + 1] the cell's points in the padded SoA arrays
  std::vector<int32_t> nReal;      // per cell: its real (unpadded) point count
  std::vector<double> f0, f1, f2;  // fractions, padded per cell to a multiple of kGammaLanes
  std::vector<double> r0, r1, r2;  // raw offsets in mm (for the exact boundary test)
  int32_t reachLo[3] = {0, 0, 0}, reachHi[3] = {0, 0, 0};
};

constexpr int32_t kGammaLanes = 8;

// Groups shell points into cells. coords: [3 * nPoints] (x, y, z in mm -> array axes 0, 1, 2),
// shellStart: [nShells + 1] point ranges per shell, dd2: [nShells].
void gammaBuildTable(const double* coords, const int32_t* shellStart, const double* dd2, int32_t nShells,
                     bool complete, const double* spacing, GammaTable& t);

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
