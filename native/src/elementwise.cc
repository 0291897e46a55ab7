// Elementwise kernels and sums behind lib/engine/cpu_kernels.ts, bit-identical to its JavaScript
// loops (which the tests compare exactly against stock tfjs; training resume is checked bit for bit).
//
// This file is built as its own target WITHOUT -ffast-math and with -ffp-contract=off (binding.gyp):
// fast-math would turn x / y into x * (1 / y), reassociate the double sums and replace exp/sqrt, and
// contraction would fuse a * b + c into an FMA -- each changes low bits. Work is split into fixed
// blocks (no atomics), and every sum runs over its inputs in the JS loop's order, so results do not
// depend on the thread count either.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops.h"

namespace vmat {
namespace {

constexpr int64_t kBlock = 16384;           // elements per parallel work item
constexpr int64_t kMinParallel = 65536;     // below this, waking the threads costs more than it saves
constexpr int64_t kMinParallelExp = 8192;   // exp is ~10x the work per element of an add
constexpr int64_t kMinTile = 1024;          // shorter tiles are replicated to this length (long inner loops)
constexpr int64_t kColBlock = 512;          // output columns one reduction task accumulates

// --- binary ops -----------------------------------------------------------------------------------
// JS computes a[i] op b[j] in double and rounds to float32 on the store. For + - * / that equals the
// float32 operation itself (double rounding from 53 to 24 bits is innocuous when 53 >= 2*24 + 2), so
// these run in float and vectorise at full width. Squared difference is two roundings in JS
// (d = a - b and d * d, both double), so it is computed in double here too.
struct AddOp {
  static float apply(float x, float y) { return x + y; }
};
struct SubOp {
  static float apply(float x, float y) { return x - y; }
};
struct MulOp {
  static float apply(float x, float y) { return x * y; }
};
struct DivOp {
  static float apply(float x, float y) { return x / y; }
};
struct SqDiffOp {
  static float apply(float x, float y) {
    const double d = double(x) - double(y);
    return float(d * d);
  }
};

// out[i] = a[i] op tile[i mod period] (Left: tile[..] op a[i]), over fixed blocks of kBlock elements;
// within a block the work runs in contiguous segments that end where the tile wraps.
template <class Op, bool Left>
void tiledLoop(const float* __restrict a, int64_t n, const float* __restrict tile, int64_t period,
               float* __restrict out) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kMinParallel)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    int64_t i = blk * kBlock;
    const int64_t end = std::min(n, i + kBlock);
    int64_t j = i % period;
    while (i < end) {
      const int64_t len = std::min(end - i, period - j);
      const float* ai = a + i;
      const float* tj = tile + j;
      float* oi = out + i;
      for (int64_t k = 0; k < len; ++k) oi[k] = Left ? Op::apply(tj[k], ai[k]) : Op::apply(ai[k], tj[k]);
      i += len;
      j = 0;
    }
  }
}

template <class Op>
void tiledDispatch(bool left, const float* a, int64_t n, const float* tile, int64_t period, float* out) {
  if (left)
    tiledLoop<Op, true>(a, n, tile, period, out);
  else
    tiledLoop<Op, false>(a, n, tile, period, out);
}

// --- exp: V8's Math.exp ---------------------------------------------------------------------------
// V8 implements Math.exp with fdlibm's e_exp.c algorithm (src/base/ieee754.cc), not the C library's
// exp, and the two differ in the last bit now and then. This follows the same algorithm, constants
// and operation order, so the double result -- and hence its float32 rounding -- is the same:
//   x = k*ln2 + r (ln2 split into hi + lo parts, |r| <= ln2/2), exp(r) from fdlibm's degree-5
//   Remez rational form, scaled by 2^k.
// Constants are written in hex so no decimal conversion is involved.
constexpr double kOverflow = 0x1.62e42fefa39efp+9;    // above: +inf
constexpr double kUnderflow = -0x1.74910d52d3051p+9;  // below: 0
constexpr double kLn2Hi[2] = {0x1.62e42fee00000p-1, -0x1.62e42fee00000p-1};
constexpr double kLn2Lo[2] = {0x1.a39ef35793c76p-33, -0x1.a39ef35793c76p-33};
constexpr double kInvLn2 = 0x1.71547652b82fep+0;
constexpr double kHalf[2] = {0.5, -0.5};
constexpr double kP1 = 0x1.555555555553ep-3;
constexpr double kP2 = -0x1.6c16c16bebd93p-9;
constexpr double kP3 = 0x1.1566aaf25de2cp-14;
constexpr double kP4 = -0x1.bbd41c5d26bf1p-20;
constexpr double kP5 = 0x1.6376972bea4d0p-25;
constexpr double kE = 0x1.5bf0a8b145769p+1;  // V8 returns this for exp(1) (the algorithm is 1 ulp off there)
constexpr double kTwoM1000 = 0x1p-1000;
constexpr double kTwo1023 = 0x1p+1023;

inline uint32_t highWord(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return uint32_t(b >> 32);
}

inline bool isNanBits(double x) {
  uint64_t b;
  std::memcpy(&b, &x, sizeof b);
  return (b & 0x7FFFFFFFFFFFFFFFull) > 0x7FF0000000000000ull;
}

// 2^e for a biased-exponent offset as fdlibm builds it: high word 0x3FF00000 + (e << 20), low word 0.
inline double powerOfTwo(int32_t e) {
  const uint64_t b = uint64_t(uint32_t(0x3FF00000 + e * (1 << 20))) << 32;
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}

double jsExp(double x) {
  const uint32_t hxSigned = highWord(x);
  const int xsb = int(hxSigned >> 31);  // sign of x
  const uint32_t hx = hxSigned & 0x7FFFFFFF;

  if (hx >= 0x40862E42) {  // |x| >= 709.78..., inf or NaN
    if (hx >= 0x7FF00000) {
      if (isNanBits(x)) return x + x;
      return xsb == 0 ? x : 0.0;
    }
    if (x > kOverflow) return HUGE_VAL;
    if (x < kUnderflow) return 0.0;
  }

  double hi = 0.0, lo = 0.0;
  int32_t k = 0;
  if (hx > 0x3FD62E42) {    // |x| > ln2/2: reduce
    if (hx < 0x3FF0A2B2) {  // and |x| < 1.5 ln2: k = +-1
      if (x == 1.0) return kE;
      hi = x - kLn2Hi[xsb];
      lo = kLn2Lo[xsb];
      k = 1 - xsb - xsb;
    } else {
      k = int32_t(kInvLn2 * x + kHalf[xsb]);
      const double t = k;
      hi = x - t * kLn2Hi[0];  // exact: t * ln2hi has trailing zero bits
      lo = t * kLn2Lo[0];
    }
    x = hi - lo;
  } else if (hx < 0x3E300000) {  // |x| < 2^-28: exp(x) rounds to 1 + x
    return 1.0 + x;
  }

  const double t = x * x;
  const double twopk = k >= -1021 ? powerOfTwo(k) : powerOfTwo(k + 1000);
  const double c = x - t * (kP1 + t * (kP2 + t * (kP3 + t * (kP4 + t * kP5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const double y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) return k == 1024 ? y * 2.0 * kTwo1023 : y * twopk;
  return y * twopk * kTwoM1000;
}

// --- unary ops --------------------------------------------------------------------------------------
// Math.sqrt / the JS square round a double result that equals the float32 op's (same argument as for
// + - * /); exp and sigmoid use jsExp in double as the JS loop does.
template <class F>
void mapLoop(const float* __restrict x, float* __restrict out, int64_t n, int64_t minParallel, F f) {
#pragma omp parallel for schedule(static) if (n >= minParallel)
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

// --- sums -------------------------------------------------------------------------------------------
// One addend as the JS loop forms it: the value itself, or for Mean Math.fround(v / count).
template <bool Mean>
inline double addend(float v, double count) {
  return Mean ? double(float(double(v) / count)) : double(v);
}

// inner == 1: each output sums one contiguous row of `mid` values; rows run in parallel.
template <bool Mean>
void sumRows(const float* v, int64_t outer, int64_t mid, double count, float* out) {
#pragma omp parallel for schedule(static) if (outer > 1 && outer * mid >= kMinParallel)
  for (int64_t o = 0; o < outer; ++o) {
    const float* row = v + o * mid;
    double acc = 0.0;
    for (int64_t j = 0; j < mid; ++j) acc += addend<Mean>(row[j], count);
    out[o] = float(acc);
  }
}

// inner > 1: outputs are columns; a task owns up to kColBlock columns of one outer index and adds
// the mid rows in order, so each output sees exactly the JS loop's sequence of additions.
template <bool Mean>
void sumColumns(const float* v, int64_t outer, int64_t mid, int64_t inner, double count, float* out) {
  const int64_t colBlocks = (inner + kColBlock - 1) / kColBlock;
  const int64_t tasks = outer * colBlocks;
#pragma omp parallel for schedule(static) if (tasks > 1 && outer * mid * inner >= kMinParallel)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t o = task / colBlocks;
    const int64_t c0 = (task % colBlocks) * kColBlock;
    const int64_t w = std::min(kColBlock, inner - c0);
    double acc[kColBlock];
    std::fill(acc, acc + w, 0.0);
    for (int64_t r = 0; r < mid; ++r) {
      const float* row = v + (o * mid + r) * inner + c0;
      for (int64_t j = 0; j < w; ++j) acc[j] += addend<Mean>(row[j], count);
    }
    float* dst = out + o * inner + c0;
    for (int64_t j = 0; j < w; ++j) dst[j] = float(acc[j]);
  }
}

}  // namespace

void binaryTiled(BinOp op, const float* a, int64_t n, const float* b, int64_t bn, float* out, bool left) {
  if (n == 0) return;
  // A short tile (scalar, channel vector) is repeated to a whole multiple of itself >= kMinTile, so
  // the inner loop runs long stretches instead of wrapping every few elements.
  std::vector<float> repeated;
  const float* tile = b;
  int64_t period = bn;
  if (bn < kMinTile && bn < n) {
    period = bn * ((kMinTile + bn - 1) / bn);
    repeated.resize(size_t(period));
    for (int64_t k = 0; k < period; ++k) repeated[size_t(k)] = b[k % bn];
    tile = repeated.data();
  }
  switch (op) {
    case BinOp::Add: return tiledDispatch<AddOp>(left, a, n, tile, period, out);
    case BinOp::Sub: return tiledDispatch<SubOp>(left, a, n, tile, period, out);
    case BinOp::Mul: return tiledDispatch<MulOp>(left, a, n, tile, period, out);
    case BinOp::Div: return tiledDispatch<DivOp>(left, a, n, tile, period, out);
    case BinOp::SqDiff: return tiledDispatch<SqDiffOp>(left, a, n, tile, period, out);
  }
}

void unary(UnOp op, const float* x, float* out, int64_t n) {
  switch (op) {
    case UnOp::Sqrt: return mapLoop(x, out, n, kMinParallel, [](float v) { return std::sqrt(v); });
    case UnOp::Square: return mapLoop(x, out, n, kMinParallel, [](float v) { return v * v; });
    case UnOp::Neg: return mapLoop(x, out, n, kMinParallel, [](float v) { return -v; });
    case UnOp::Exp: return mapLoop(x, out, n, kMinParallelExp, [](float v) { return float(jsExp(double(v))); });
    case UnOp::Abs: return mapLoop(x, out, n, kMinParallel, [](float v) { return std::fabs(v); });
    case UnOp::Sigmoid:
      return mapLoop(x, out, n, kMinParallelExp, [](float v) { return float(1.0 / (1.0 + jsExp(-double(v)))); });
  }
}

void expF64(const double* x, double* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = jsExp(x[i]);
}

void reduceSum(const float* v, int64_t outer, int64_t mid, int64_t inner, bool mean, float* out) {
  const double count = double(mid);
  if (inner == 1) {
    if (mean) sumRows<true>(v, outer, mid, count, out);
    else sumRows<false>(v, outer, mid, count, out);
  } else {
    if (mean) sumColumns<true>(v, outer, mid, inner, count, out);
    else sumColumns<false>(v, outer, mid, inner, count, out);
  }
}

}  // namespace vmat
