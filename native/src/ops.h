// Kernels of the vmat native engine addon. All tensors are fp32, channels-last (NDHWC);
// conv filters are [kD, kH, kW, Cin, Cout] (TF layout). Callers own every buffer.
#pragma once
#include <cstdint>
#include <string>

namespace vmat {

struct ConvShape {
  int64_t src[5];   // N, D, H, W, Cin
  int64_t wts[5];   // kD, kH, kW, Cin, Cout
  int64_t dst[5];   // N, Do, Ho, Wo, Cout
  int64_t stride[3];
  int64_t padL[3];
  int64_t padR[3];
};

enum class ConvKind { Conv = 0, Deconv = 1 };
enum class Dir { Fwd = 0, BwdData = 1, BwdWeights = 2 };

// Fwd: a = src, b = wts, out = dst.  BwdData: a = diff_dst, b = wts, out = diff_src.
// BwdWeights: a = src, b = diff_dst, out = diff_wts.  Deconv = transposed conv (oneDNN semantics).
// bias [Cout] (optional): Fwd adds it; BwdWeights writes diff_bias there; BwdData ignores it.
void convLike(ConvKind kind, Dir dir, const ConvShape& s, const float* a, const float* b, float* out,
              float* bias = nullptr);

enum class Act { None = 0, Relu = 1, Silu = 2 };
// y = act(x) (fwd) or dx = dy * act'(x) (bwd), via oneDNN eltwise primitives.
void eltwise(Act act, bool backward, int64_t n, const float* x, const float* dy, float* out);

// GroupNorm (PyTorch semantics, biased variance) with fused activation on x[N, S, C].
// stats [N, groups, 2] (mean, 1/std) in double, optional: the forward stores them there (or, with
// statsIn, uses them instead of computing: the recomputation of a saved activation); the backward
// uses them instead of recomputing. Sums are reduced in a fixed order per thread count.
void groupNormFwd(int64_t n, int64_t s, int64_t c, int64_t groups, float eps, Act act, const float* x,
                  const float* gamma, const float* beta, float* y, double* stats = nullptr, bool statsIn = false);
void groupNormBwd(int64_t n, int64_t s, int64_t c, int64_t groups, float eps, Act act, const float* x,
                  const float* gamma, const float* beta, const float* dy, float* dx, float* dgamma,
                  float* dbeta, const double* stats = nullptr);

// dst[dstOff + r*dstStride + j] = src[srcOff + r*srcStride + j] for r < rows, j < run (OpenMP over rows):
// the strided copy behind channel concat / split.
void copyRuns(const float* src, int64_t srcOff, int64_t srcStride, float* dst, int64_t dstOff, int64_t dstStride,
              int64_t rows, int64_t run);

// Elementwise kernels of lib/engine/cpu_kernels.ts, bit-identical to its JS loops (elementwise.cc,
// compiled without -ffast-math). Codes match the Bin / Un enums there.
enum class BinOp { Add = 0, Sub = 1, Mul = 2, Div = 3, SqDiff = 4 };
enum class UnOp { Sqrt = 0, Square = 1, Neg = 2, Exp = 3, Abs = 4, Sigmoid = 5 };
// out[i] = a[i] op b[i mod bn] for i < n (left: b[i mod bn] op a[i]).
void binaryTiled(BinOp op, const float* a, int64_t n, const float* b, int64_t bn, float* out, bool left);
void unary(UnOp op, const float* x, float* out, int64_t n);
// v viewed as [outer, mid, inner]: out[o, i] = sum over m of v[o, m, i], accumulated in double in m
// order; mean: each value is first divided by mid and rounded to float (the stock Mean kernel's way).
void reduceSum(const float* v, int64_t outer, int64_t mid, int64_t inner, bool mean, float* out);
// out[i] = exp(x[i]) in double, by V8's Math.exp algorithm (fdlibm): the tests compare it with
// Math.exp bit for bit, which float32 outputs alone could not (they hide most last-bit differences).
void expF64(const double* x, double* out, int64_t n);

// x2 trilinear up-sampling, align_corners=False (PyTorch semantics), NDHWC.
// fwd: x[N,D,H,W,C] -> y[N,2D,2H,2W,C];  bwd: dy[N,2D,2H,2W,C] -> dx[N,D,H,W,C].
void upsample2x(bool backward, const int64_t* small, const float* in, float* out);

// 2x2x2 max pooling, stride 2, 'valid' (tfjs semantics: gradient to the LAST maximum in d,h,w order).
// fwd: x[N,D,H,W,C] -> y[N,D/2,H/2,W/2,C];  bwd: (x, dy) -> dx.
void maxPool2xFwd(const int64_t* xs, const float* x, float* y);
void maxPool2xBwd(const int64_t* xs, const float* x, const float* dy, float* dx);

// Fused optimizer update of one variable (adam.cc, bit-identical to the JS updates): mode 0 = tfjs
// Adam (c = [b1, 1-b1, b2, 1-b2, 1-b1^t, 1-b2^t, eps, -lr]), mode 1 = torch AdamW
// (c = [b1, 1-b1, b2, 1-b2, 1-lr*wd, sqrt(1-b2^t), eps, lr/(1-b1^t)]), all as float32.
void adamUpdate(int mode, int64_t n, const float* x, const float* g, const float* m, const float* v, float* xOut,
                float* mOut, float* vOut, const float* c);

// fp32 GFLOP/s of dnnl_sgemm (n x n x n), best 0.1 s batch within `seconds`, on `threads` threads.
double sgemmGflops(int64_t n, double seconds, int threads);

void setThreads(int n);
int getThreads();
std::string dnnlVersion();
void clearCache();
int64_t cacheSize();

}  // namespace vmat
