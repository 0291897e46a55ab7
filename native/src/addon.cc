// N-API glue for the vmat native engine (plain Node-API C interface, no extra npm dependency).
// Every function is synchronous and works on Float32Arrays the caller allocated; errors in
// oneDNN become JS exceptions.
#include <node_api.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "gamma.h"
#include "ops.h"

namespace {

struct JsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(napi_env env, napi_status st, const char* what) {
  if (st != napi_ok) throw JsError(std::string("vmat_native: ") + what);
}

std::vector<napi_value> args(napi_env env, napi_callback_info info, size_t want) {
  size_t argc = want;
  std::vector<napi_value> v(want);
  check(env, napi_get_cb_info(env, info, &argc, v.data(), nullptr, nullptr), "bad arguments");
  if (argc < want) throw JsError("vmat_native: expected " + std::to_string(want) + " arguments");
  return v;
}

double num(napi_env env, napi_value v) {
  double d;
  check(env, napi_get_value_double(env, v, &d), "expected a number");
  return d;
}

std::vector<int64_t> ints(napi_env env, napi_value arr, size_t len) {
  uint32_t n;
  check(env, napi_get_array_length(env, arr, &n), "expected an array");
  if (n != len) throw JsError("vmat_native: expected an array of length " + std::to_string(len));
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; ++i) {
    napi_value e;
    check(env, napi_get_element(env, arr, i, &e), "array element");
    out[i] = int64_t(num(env, e));
  }
  return out;
}

// A typed array of type `want` (named `kind` in errors) of any length; its length goes to *len.
void* typedAny(napi_env env, napi_value v, napi_typedarray_type want, const char* kind, const char* name, size_t* len) {
  bool is;
  check(env, napi_is_typedarray(env, v, &is), "typedarray check");
  napi_typedarray_type t = napi_int8_array;
  void* data = nullptr;
  if (is) check(env, napi_get_typedarray_info(env, v, &t, len, &data, nullptr, nullptr), "typedarray info");
  if (!is || t != want) throw JsError(std::string("vmat_native: ") + name + " must be a " + kind);
  return data;
}

// Float32Array of any length; its length goes to *len.
float* f32any(napi_env env, napi_value v, const char* name, size_t* len) {
  return static_cast<float*>(typedAny(env, v, napi_float32_array, "Float32Array", name, len));
}

float* f32(napi_env env, napi_value v, size_t expectLen, const char* name) {
  size_t len;
  float* data = f32any(env, v, name, &len);
  if (len != expectLen)
    throw JsError(std::string("vmat_native: ") + name + " has " + std::to_string(len) + " elements, expected " +
                  std::to_string(expectLen));
  return data;
}

int64_t prod(const int64_t* d, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= d[i];
  return p;
}

template <typename F>
napi_value guarded(napi_env env, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, e.what());
    return nullptr;
  }
}

napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// convLike(kind, dir, srcShape[5], wShape[5], dstShape[5], stride[3], padL[3], padR[3], a, b, out[, bias])
// bias: Float32Array [Cout] added in Fwd, receives diff_bias in BwdWeights; null/absent = none.
napi_value ConvLike(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    size_t argc = 12;
    std::vector<napi_value> v(12);
    check(env, napi_get_cb_info(env, info, &argc, v.data(), nullptr, nullptr), "bad arguments");
    if (argc < 11) throw JsError("vmat_native: convLike expects 11 or 12 arguments");
    const int kind = int(num(env, v[0]));
    const int dir = int(num(env, v[1]));
    vmat::ConvShape s{};
    auto src = ints(env, v[2], 5), w = ints(env, v[3], 5), dst = ints(env, v[4], 5);
    auto st = ints(env, v[5], 3), pl = ints(env, v[6], 3), pr = ints(env, v[7], 3);
    for (int i = 0; i < 5; ++i) {
      s.src[i] = src[i];
      s.wts[i] = w[i];
      s.dst[i] = dst[i];
    }
    for (int i = 0; i < 3; ++i) {
      s.stride[i] = st[i];
      s.padL[i] = pl[i];
      s.padR[i] = pr[i];
    }
    if (kind < 0 || kind > 1 || dir < 0 || dir > 2) throw JsError("vmat_native: bad kind/dir");
    const int64_t nSrc = prod(s.src, 5), nW = prod(s.wts, 5), nDst = prod(s.dst, 5);
    const float *a, *b;
    float* out;
    if (dir == 0) {
      a = f32(env, v[8], nSrc, "src");
      b = f32(env, v[9], nW, "weights");
      out = f32(env, v[10], nDst, "dst");
    } else if (dir == 1) {
      a = f32(env, v[8], nDst, "diff_dst");
      b = f32(env, v[9], nW, "weights");
      out = f32(env, v[10], nSrc, "diff_src");
    } else {
      a = f32(env, v[8], nSrc, "src");
      b = f32(env, v[9], nDst, "diff_dst");
      out = f32(env, v[10], nW, "diff_weights");
    }
    float* bias = nullptr;
    if (argc == 12) {
      napi_valuetype t;
      check(env, napi_typeof(env, v[11], &t), "bias type");
      if (t != napi_null && t != napi_undefined) bias = f32(env, v[11], size_t(s.wts[4]), "bias");
    }
    vmat::convLike(vmat::ConvKind(kind), vmat::Dir(dir), s, a, b, out, bias);
    return undef(env);
  });
}

// eltwise(act, backward, x, dyOrNull, out)
napi_value Eltwise(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 5);
    const int act = int(num(env, v[0]));
    bool bwd;
    check(env, napi_get_value_bool(env, v[1], &bwd), "expected a boolean");
    size_t n;
    check(env, napi_get_typedarray_info(env, v[2], nullptr, &n, nullptr, nullptr, nullptr), "x");
    const float* x = f32(env, v[2], n, "x");
    const float* dy = bwd ? f32(env, v[3], n, "dy") : nullptr;
    float* out = f32(env, v[4], n, "out");
    if (act < 1 || act > 2) throw JsError("vmat_native: bad activation");
    vmat::eltwise(vmat::Act(act), bwd, int64_t(n), x, dy, out);
    return undef(env);
  });
}

// Optional Float64Array [n * groups * 2] of GroupNorm statistics at argument index i (absent/null: none).
double* statsArg(napi_env env, const std::vector<napi_value>& v, size_t argc, size_t i, int64_t want) {
  if (argc <= i) return nullptr;
  napi_valuetype t;
  check(env, napi_typeof(env, v[i], &t), "stats type");
  if (t == napi_null || t == napi_undefined) return nullptr;
  size_t len;
  auto* p = static_cast<double*>(typedAny(env, v[i], napi_float64_array, "Float64Array", "stats", &len));
  if (int64_t(len) != want) throw JsError("vmat_native: stats must have n * groups * 2 elements");
  return p;
}

std::vector<napi_value> argsUpTo(napi_env env, napi_callback_info info, size_t want, size_t max, size_t* argc) {
  *argc = max;
  std::vector<napi_value> v(max);
  check(env, napi_get_cb_info(env, info, argc, v.data(), nullptr, nullptr), "bad arguments");
  if (*argc < want) throw JsError("vmat_native: expected at least " + std::to_string(want) + " arguments");
  return v;
}

// groupNormFwd(n, s, c, groups, eps, act, x, gamma, beta, y[, stats[, statsIn]])
napi_value GroupNormFwd(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    size_t argc;
    auto v = argsUpTo(env, info, 10, 12, &argc);
    const int64_t n = int64_t(num(env, v[0])), s = int64_t(num(env, v[1])), c = int64_t(num(env, v[2]));
    const int64_t g = int64_t(num(env, v[3]));
    const float eps = float(num(env, v[4]));
    const int act = int(num(env, v[5]));
    if (g <= 0 || c % g != 0) throw JsError("vmat_native: channels not divisible by groups");
    if (act < 0 || act > 2) throw JsError("vmat_native: bad activation");
    const int64_t total = n * s * c;
    double* stats = statsArg(env, v, argc, 10, n * g * 2);
    bool statsIn = false;
    if (argc > 11) check(env, napi_get_value_bool(env, v[11], &statsIn), "statsIn must be a boolean");
    if (statsIn && !stats) throw JsError("vmat_native: statsIn without stats");
    vmat::groupNormFwd(n, s, c, g, eps, vmat::Act(act), f32(env, v[6], total, "x"), f32(env, v[7], c, "gamma"),
                       f32(env, v[8], c, "beta"), f32(env, v[9], total, "y"), stats, statsIn);
    return undef(env);
  });
}

// groupNormBwd(n, s, c, groups, eps, act, x, gamma, beta, dy, dx, dgamma, dbeta[, stats])
napi_value GroupNormBwd(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    size_t argc;
    auto v = argsUpTo(env, info, 13, 14, &argc);
    const int64_t n = int64_t(num(env, v[0])), s = int64_t(num(env, v[1])), c = int64_t(num(env, v[2]));
    const int64_t g = int64_t(num(env, v[3]));
    const float eps = float(num(env, v[4]));
    const int act = int(num(env, v[5]));
    if (g <= 0 || c % g != 0) throw JsError("vmat_native: channels not divisible by groups");
    if (act < 0 || act > 2) throw JsError("vmat_native: bad activation");
    const int64_t total = n * s * c;
    const double* stats = statsArg(env, v, argc, 13, n * g * 2);
    vmat::groupNormBwd(n, s, c, g, eps, vmat::Act(act), f32(env, v[6], total, "x"), f32(env, v[7], c, "gamma"),
                       f32(env, v[8], c, "beta"), f32(env, v[9], total, "dy"), f32(env, v[10], total, "dx"),
                       f32(env, v[11], c, "dgamma"), f32(env, v[12], c, "dbeta"), stats);
    return undef(env);
  });
}

// upsample2x(backward, smallShape[5], in, out)
napi_value Upsample2x(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 4);
    bool bwd;
    check(env, napi_get_value_bool(env, v[0], &bwd), "expected a boolean");
    auto sm = ints(env, v[1], 5);
    const int64_t nSmall = prod(sm.data(), 5), nBig = nSmall * 8;
    const float* in = f32(env, v[2], bwd ? nBig : nSmall, bwd ? "dy" : "x");
    float* out = f32(env, v[3], bwd ? nSmall : nBig, bwd ? "dx" : "y");
    vmat::upsample2x(bwd, sm.data(), in, out);
    return undef(env);
  });
}

// maxPool2x(backward, xShape[5], x, dyOrNull, out)
napi_value MaxPool2x(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 5);
    bool bwd;
    check(env, napi_get_value_bool(env, v[0], &bwd), "expected a boolean");
    auto xs = ints(env, v[1], 5);
    const int64_t nx = prod(xs.data(), 5);
    const int64_t ny = xs[0] * (xs[1] / 2) * (xs[2] / 2) * (xs[3] / 2) * xs[4];
    const float* x = f32(env, v[2], nx, "x");
    if (!bwd) {
      vmat::maxPool2xFwd(xs.data(), x, f32(env, v[4], ny, "y"));
    } else {
      vmat::maxPool2xBwd(xs.data(), x, f32(env, v[3], ny, "dy"), f32(env, v[4], nx, "dx"));
    }
    return undef(env);
  });
}

// copyRuns(src, srcOff, srcStride, dst, dstOff, dstStride, rows, run)
napi_value CopyRuns(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 8);
    size_t ns, nd;
    check(env, napi_get_typedarray_info(env, v[0], nullptr, &ns, nullptr, nullptr, nullptr), "src");
    check(env, napi_get_typedarray_info(env, v[3], nullptr, &nd, nullptr, nullptr, nullptr), "dst");
    const float* src = f32(env, v[0], ns, "src");
    float* dst = f32(env, v[3], nd, "dst");
    const int64_t so = int64_t(num(env, v[1])), ss = int64_t(num(env, v[2]));
    const int64_t dof = int64_t(num(env, v[4])), ds = int64_t(num(env, v[5]));
    const int64_t rows = int64_t(num(env, v[6])), run = int64_t(num(env, v[7]));
    if (rows < 0 || run < 0 || so < 0 || dof < 0 || ss < 0 || ds < 0) throw JsError("vmat_native: copyRuns: negative argument");
    if (rows > 0 && run > 0 &&
        (so + (rows - 1) * ss + run > int64_t(ns) || dof + (rows - 1) * ds + run > int64_t(nd)))
      throw JsError("vmat_native: copyRuns: out of bounds");
    vmat::copyRuns(src, so, ss, dst, dof, ds, rows, run);
    return undef(env);
  });
}

bool boolean(napi_env env, napi_value v) {
  bool b;
  check(env, napi_get_value_bool(env, v, &b), "expected a boolean");
  return b;
}

// binaryTiled(op, a, b, out, left): out[i] = a[i] op b[i mod b.length] (left: b[..] op a[i]);
// op 0 add, 1 sub, 2 mul, 3 div, 4 squared difference.
napi_value BinaryTiled(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 5);
    const int op = int(num(env, v[0]));
    if (op < 0 || op > 4) throw JsError("vmat_native: binaryTiled: bad op");
    size_t n, bn;
    const float* a = f32any(env, v[1], "a", &n);
    const float* b = f32any(env, v[2], "b", &bn);
    float* out = f32(env, v[3], n, "out");
    if (bn == 0 && n > 0) throw JsError("vmat_native: binaryTiled: b is empty");
    vmat::binaryTiled(vmat::BinOp(op), a, int64_t(n), b, int64_t(bn), out, boolean(env, v[4]));
    return undef(env);
  });
}

// unary(op, x, out); op 0 sqrt, 1 square, 2 neg, 3 exp, 4 abs, 5 sigmoid.
napi_value Unary(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 3);
    const int op = int(num(env, v[0]));
    if (op < 0 || op > 5) throw JsError("vmat_native: unary: bad op");
    size_t n;
    const float* x = f32any(env, v[1], "x", &n);
    vmat::unary(vmat::UnOp(op), x, f32(env, v[2], n, "out"), int64_t(n));
    return undef(env);
  });
}

// reduceSum(v, outer, mid, inner, mean, out): v as [outer, mid, inner] summed over mid into out.
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 6);
    const int64_t outer = int64_t(num(env, v[1])), mid = int64_t(num(env, v[2])), inner = int64_t(num(env, v[3]));
    if (outer < 0 || mid < 0 || inner < 0) throw JsError("vmat_native: reduceSum: negative size");
    const float* x = f32(env, v[0], size_t(outer * mid * inner), "v");
    float* out = f32(env, v[5], size_t(outer * inner), "out");
    vmat::reduceSum(x, outer, mid, inner, boolean(env, v[4]), out);
    return undef(env);
  });
}

// expF64(x, out): Float64Arrays; out[i] = exp(x[i]) as the Exp/Sigmoid kernels compute it.
napi_value ExpF64(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 2);
    size_t n, nOut;
    const auto* x = static_cast<const double*>(typedAny(env, v[0], napi_float64_array, "Float64Array", "x", &n));
    auto* out = static_cast<double*>(typedAny(env, v[1], napi_float64_array, "Float64Array", "out", &nOut));
    if (n != nOut) throw JsError("vmat_native: expF64 expects two Float64Arrays of equal length");
    vmat::expF64(x, out, int64_t(n));
    return undef(env);
  });
}

// adamUpdate(mode, x, g, m, v, xOut, mOut, vOut, c Float32Array[8]): one fused optimizer update (adam.cc)
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 9);
    const int mode = int(num(env, v[0]));
    if (mode != 0 && mode != 1) throw JsError("vmat_native: adamUpdate: mode must be 0 (Adam) or 1 (AdamW)");
    size_t n;
    const float* x = f32any(env, v[1], "x", &n);
    const float* g = f32(env, v[2], n, "g");
    const float* m = f32(env, v[3], n, "m");
    const float* vv = f32(env, v[4], n, "v");
    float* xo = f32(env, v[5], n, "xOut");
    float* mo = f32(env, v[6], n, "mOut");
    float* vo = f32(env, v[7], n, "vOut");
    const float* c = f32(env, v[8], 8, "constants");
    vmat::adamUpdate(mode, int64_t(n), x, g, m, vv, xo, mo, vo, c);
    return undef(env);
  });
}

// sgemmGflops(n, seconds, threads) -> GFLOP/s of oneDNN's sgemm (the machine's fp32 peak as oneDNN reaches it)
napi_value SgemmGflops(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 3);
    const double g = vmat::sgemmGflops(int64_t(num(env, v[0])), num(env, v[1]), int(num(env, v[2])));
    napi_value r;
    check(env, napi_create_double(env, g, &r), "double");
    return r;
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 1);
    vmat::setThreads(int(num(env, v[0])));
    return undef(env);
  });
}

napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    napi_value o, ver, th, cs;
    check(env, napi_create_object(env, &o), "object");
    const std::string v = vmat::dnnlVersion();
    check(env, napi_create_string_utf8(env, v.c_str(), v.size(), &ver), "string");
    check(env, napi_create_int32(env, vmat::getThreads(), &th), "int");
    check(env, napi_create_int64(env, vmat::cacheSize(), &cs), "int");
    napi_set_named_property(env, o, "dnnl", ver);
    napi_set_named_property(env, o, "threads", th);
    napi_set_named_property(env, o, "cachedPrimitives", cs);
    return o;
  });
}

// detach(arrayBuffer): frees an ArrayBuffer's memory now instead of at a later garbage collection
// (the buffer pool's evictions; the caller guarantees nothing reads it any more).
napi_value Detach(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 1);
    bool is;
    check(env, napi_is_arraybuffer(env, v[0], &is), "arraybuffer check");
    if (!is) throw JsError("vmat_native: detach expects an ArrayBuffer");
    check(env, napi_detach_arraybuffer(env, v[0]), "detach");
    return undef(env);
  });
}

napi_value ClearCache(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    vmat::clearCache();
    return undef(env);
  });
}

// ---- gamma (gamma.cc) ----

// A Float32Array or Float64Array: data pointer, length and whether it is float64.
struct DoseArray {
  const void* data;
  size_t len;
  bool f64;
};

DoseArray doseArray(napi_env env, napi_value v, const char* name) {
  bool is;
  check(env, napi_is_typedarray(env, v, &is), "typedarray check");
  napi_typedarray_type t = napi_int8_array;
  void* data = nullptr;
  size_t len = 0;
  if (is) check(env, napi_get_typedarray_info(env, v, &t, &len, &data, nullptr, nullptr), "typedarray info");
  if (!is || (t != napi_float32_array && t != napi_float64_array))
    throw JsError(std::string("vmat_native: ") + name + " must be a Float32Array or Float64Array");
  return {data, len, t == napi_float64_array};
}

napi_value prop(napi_env env, napi_value o, const char* key) {
  napi_value v;
  check(env, napi_get_named_property(env, o, key, &v), key);
  return v;
}

// gammaTable(coords Float64Array[3 N], shellStart Int32Array[nShells + 1], dd2 Float64Array[nShells],
// complete, spacing[3]) -> an opaque table (see GammaTable in gamma.h), freed with its JS handle.
napi_value GammaTableNew(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 5);
    size_t nc, ns, nd;
    const auto* coords = static_cast<const double*>(typedAny(env, v[0], napi_float64_array, "Float64Array", "coords", &nc));
    const auto* start = static_cast<const int32_t*>(typedAny(env, v[1], napi_int32_array, "Int32Array", "shellStart", &ns));
    const auto* dd2 = static_cast<const double*>(typedAny(env, v[2], napi_float64_array, "Float64Array", "dd2", &nd));
    if (ns != nd + 1) throw JsError("vmat_native: gammaTable: shellStart needs one entry more than dd2");
    for (size_t k = 0; k < nd; ++k)
      if (start[k] < 0 || start[k] > start[k + 1]) throw JsError("vmat_native: gammaTable: shellStart not ascending");
    if (nd > 0 && size_t(start[nd]) * 3 != nc) throw JsError("vmat_native: gammaTable: coords length mismatch");
    if (start[0] != 0) throw JsError("vmat_native: gammaTable: shellStart[0] must be 0");
    uint32_t nsp;
    check(env, napi_get_array_length(env, v[4], &nsp), "spacing");
    if (nsp != 3) throw JsError("vmat_native: gammaTable: spacing needs 3 values");
    double spacing[3];
    for (uint32_t i = 0; i < 3; ++i) {
      napi_value e;
      check(env, napi_get_element(env, v[4], i, &e), "spacing element");
      spacing[i] = num(env, e);
      if (!(spacing[i] > 0)) throw JsError("vmat_native: gammaTable: spacing must be positive");
    }
    auto* t = new vmat::GammaTable();
    vmat::gammaBuildTable(coords, start, dd2, int32_t(nd), boolean(env, v[3]), spacing, *t);
    napi_value ext;
    napi_status st = napi_create_external(
        env, t, [](napi_env, void* data, void*) { delete static_cast<vmat::GammaTable*>(data); }, nullptr, &ext);
    if (st != napi_ok) {
      delete t;
      throw JsError("vmat_native: gammaTable: could not create the handle");
    }
    return ext;
  });
}

const vmat::GammaTable& tableOf(napi_env env, napi_value v) {
  napi_valuetype t;
  check(env, napi_typeof(env, v, &t), "table type");
  if (t != napi_external) throw JsError("vmat_native: gammaSearch: table must come from gammaTable()");
  void* data;
  check(env, napi_get_value_external(env, v, &data), "table");
  return *static_cast<const vmat::GammaTable*>(data);
}

// gammaSearch(ref, ev, points Int32Array, out Float64Array, params, table, threads) -> points marked -1
// params: {shape[3], spacingMm[3], dosePercent, maxGamma, local, normalisation}; table: from
// gammaTable(). ref and ev: both Float32Array or both Float64Array, same length.
napi_value GammaSearch(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 7);
    const DoseArray ref = doseArray(env, v[0], "ref"), ev = doseArray(env, v[1], "ev");
    if (ref.f64 != ev.f64) throw JsError("vmat_native: gammaSearch: ref and ev must have the same type");
    if (ref.len != ev.len) throw JsError("vmat_native: gammaSearch: ref and ev differ in length");
    size_t nPts, nOut;
    const auto* points = static_cast<const int32_t*>(typedAny(env, v[2], napi_int32_array, "Int32Array", "points", &nPts));
    auto* out = static_cast<double*>(typedAny(env, v[3], napi_float64_array, "Float64Array", "out", &nOut));
    if (nOut != ref.len) throw JsError("vmat_native: gammaSearch: out must have one entry per voxel");
    vmat::GammaParams p{};
    auto shape = ints(env, prop(env, v[4], "shape"), 3);
    uint32_t nsp;
    napi_value sp = prop(env, v[4], "spacingMm");
    check(env, napi_get_array_length(env, sp, &nsp), "spacingMm");
    if (nsp != 3) throw JsError("vmat_native: gammaSearch: spacingMm needs 3 values");
    for (uint32_t i = 0; i < 3; ++i) {
      napi_value e;
      check(env, napi_get_element(env, sp, i, &e), "spacing element");
      p.shape[i] = shape[i];
      p.spacing[i] = num(env, e);
    }
    if (p.shape[0] * p.shape[1] * p.shape[2] != int64_t(ref.len))
      throw JsError("vmat_native: gammaSearch: shape does not match the dose arrays");
    if (ref.len > size_t(INT32_MAX)) throw JsError("vmat_native: gammaSearch: more than 2^31 voxels");
    p.dosePercent = num(env, prop(env, v[4], "dosePercent"));
    p.maxGamma = num(env, prop(env, v[4], "maxGamma"));
    p.local = boolean(env, prop(env, v[4], "local"));
    p.normalisation = num(env, prop(env, v[4], "normalisation"));
    for (size_t q = 0; q < nPts; ++q)
      if (points[q] < 0 || size_t(points[q]) >= ref.len) throw JsError("vmat_native: gammaSearch: point index out of range");

    const vmat::GammaTable& t = tableOf(env, v[5]);
    const int threads = int(num(env, v[6]));
    int64_t incomplete;
    if (ref.f64)
      incomplete = vmat::gammaSearch<double>(p, t, static_cast<const double*>(ref.data), static_cast<const double*>(ev.data),
                                             points, int64_t(nPts), out, threads);
    else
      incomplete = vmat::gammaSearch<float>(p, t, static_cast<const float*>(ref.data), static_cast<const float*>(ev.data),
                                            points, int64_t(nPts), out, threads);
    napi_value r;
    check(env, napi_create_int64(env, incomplete, &r), "int");
    return r;
  });
}

// gammaScan(a) -> [max, index of the first non-finite value or -1]
napi_value GammaScan(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 1);
    const DoseArray a = doseArray(env, v[0], "array");
    double mx;
    int64_t bad;
    if (a.f64) vmat::gammaScan(static_cast<const double*>(a.data), int64_t(a.len), &mx, &bad);
    else vmat::gammaScan(static_cast<const float*>(a.data), int64_t(a.len), &mx, &bad);
    napi_value arr, e0, e1;
    check(env, napi_create_array_with_length(env, 2, &arr), "array");
    check(env, napi_create_double(env, mx, &e0), "double");
    check(env, napi_create_int64(env, bad, &e1), "int");
    napi_set_element(env, arr, 0, e0);
    napi_set_element(env, arr, 1, e1);
    return arr;
  });
}

// gammaSelect(ref, maskOrNull Uint8Array, cutoff, idx Int32Array[n]) -> count of ref >= cutoff (inside the mask)
napi_value GammaSelect(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto v = args(env, info, 4);
    const DoseArray ref = doseArray(env, v[0], "ref");
    napi_valuetype mt;
    check(env, napi_typeof(env, v[1], &mt), "mask type");
    const uint8_t* mask = nullptr;
    if (mt != napi_null && mt != napi_undefined) {
      size_t ml;
      mask = static_cast<const uint8_t*>(typedAny(env, v[1], napi_uint8_array, "Uint8Array", "mask", &ml));
      if (ml != ref.len) throw JsError("vmat_native: gammaSelect: mask length differs from ref");
    }
    const double cutoff = num(env, v[2]);
    size_t ni;
    auto* idx = static_cast<int32_t*>(typedAny(env, v[3], napi_int32_array, "Int32Array", "idx", &ni));
    if (ni < ref.len) throw JsError("vmat_native: gammaSelect: idx must hold one entry per voxel");
    int64_t k = ref.f64 ? vmat::gammaSelect(static_cast<const double*>(ref.data), mask, int64_t(ref.len), cutoff, idx)
                        : vmat::gammaSelect(static_cast<const float*>(ref.data), mask, int64_t(ref.len), cutoff, idx);
    napi_value r;
    check(env, napi_create_int64(env, k, &r), "int");
    return r;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"convLike", nullptr, ConvLike, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"eltwise", nullptr, Eltwise, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"groupNormFwd", nullptr, GroupNormFwd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"groupNormBwd", nullptr, GroupNormBwd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"upsample2x", nullptr, Upsample2x, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool2x", nullptr, MaxPool2x, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRuns", nullptr, CopyRuns, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"binaryTiled", nullptr, BinaryTiled, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"unary", nullptr, Unary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"expF64", nullptr, ExpF64, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gammaSearch", nullptr, GammaSearch, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gammaTable", nullptr, GammaTableNew, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gammaScan", nullptr, GammaScan, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gammaSelect", nullptr, GammaSelect, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamUpdate", nullptr, AdamUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgemmGflops", nullptr, SgemmGflops, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"detach", nullptr, Detach, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"clearCache", nullptr, ClearCache, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
