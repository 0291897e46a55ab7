// oneDNN-backed kernels: 3-D convolution / transposed convolution (forward, backward-data,
// backward-weights) and eltwise activations, on channels-last fp32 buffers owned by the caller.
// Primitives are JIT-compiled once per shape and cached (creating one costs milliseconds).
#include <dnnl.hpp>
#include <omp.h>

#include <memory>
#include <sstream>
#include <unordered_map>

#include "ops.h"

namespace vmat {
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

static dnnl::engine& eng() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
static dnnl::stream& strm() {
  static dnnl::stream s(eng());
  return s;
}

namespace {
struct ConvEntry {
  dnnl::primitive prim;
  memory::desc bias;          // [Cout] or empty
  memory::desc actA, actOut;  // descs of the two activation tensors the caller passes (ndhwc)
  memory::desc userW;         // weights as the caller holds them (dhwio)
  memory::desc primW;         // weights as the primitive wants them
  bool reorderW = false;
  dnnl::primitive wReorder;   // user->prim (fwd, bwd-data) or prim->user (bwd-weights)
  memory wBuf;                // primitive-layout weights buffer (when reorderW)
};

std::unordered_map<std::string, std::unique_ptr<ConvEntry>>& cache() {
  static std::unordered_map<std::string, std::unique_ptr<ConvEntry>> c;
  return c;
}

memory::dims actDims(const int64_t* s) { return {s[0], s[4], s[1], s[2], s[3]}; }  // N C D H W
// Logical weight dims: (OC, IC, KD, KH, KW) for both conv and deconv; our layout is dhwio.
memory::dims wtsDims(const int64_t* w) { return {w[4], w[3], w[0], w[1], w[2]}; }

std::string keyOf(ConvKind k, Dir d, const ConvShape& s, bool bias) {
  std::ostringstream o;
  o << int(k) << ':' << int(d) << ':' << bias;
  for (int i = 0; i < 5; ++i) o << ',' << s.src[i] << ',' << s.wts[i] << ',' << s.dst[i];
  for (int i = 0; i < 3; ++i) o << ';' << s.stride[i] << ',' << s.padL[i] << ',' << s.padR[i];
  return o.str();
}

// oneDNN's padding_r must satisfy out = (in + l + r - k) / s + 1 exactly; TF 'same' padding does.
std::unique_ptr<ConvEntry> build(ConvKind kind, Dir dir, const ConvShape& s, bool hasBias) {
  auto e = std::make_unique<ConvEntry>();
  const memory::desc biasMd = hasBias ? memory::desc({s.wts[4]}, dt::f32, tag::a) : memory::desc();
  memory::desc src(actDims(s.src), dt::f32, tag::ndhwc);
  memory::desc dst(actDims(s.dst), dt::f32, tag::ndhwc);
  memory::desc wAny(wtsDims(s.wts), dt::f32, tag::any);
  e->userW = memory::desc(wtsDims(s.wts), dt::f32, tag::dhwio);
  memory::dims st = {s.stride[0], s.stride[1], s.stride[2]};
  memory::dims pl = {s.padL[0], s.padL[1], s.padL[2]};
  memory::dims pr = {s.padR[0], s.padR[1], s.padR[2]};
  auto& en = eng();
  if (kind == ConvKind::Conv) {
    using F = dnnl::convolution_forward;
    F::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, wAny, biasMd, dst, st, pl, pr);
    F::primitive_desc fpd(fd, en);
    if (dir == Dir::Fwd) {
      e->prim = F(fpd);
      e->primW = fpd.weights_desc();
      e->actA = src;
      e->actOut = dst;
    } else if (dir == Dir::BwdData) {
      using B = dnnl::convolution_backward_data;
      B::desc bd(dnnl::algorithm::convolution_direct, src, wAny, dst, st, pl, pr);
      B::primitive_desc bpd(bd, en, fpd);
      e->prim = B(bpd);
      e->primW = bpd.weights_desc();
      e->actA = dst;
      e->actOut = src;
    } else {
      using B = dnnl::convolution_backward_weights;
      B::desc bd(dnnl::algorithm::convolution_direct, src, wAny, biasMd, dst, st, pl, pr);
      B::primitive_desc bpd(bd, en, fpd);
      e->prim = B(bpd);
      e->primW = bpd.diff_weights_desc();
      e->actA = src;
      e->actOut = dst;
    }
  } else {
    using F = dnnl::deconvolution_forward;
    F::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::deconvolution_direct, src, wAny, biasMd, dst, st, pl, pr);
    F::primitive_desc fpd(fd, en);
    if (dir == Dir::Fwd) {
      e->prim = F(fpd);
      e->primW = fpd.weights_desc();
      e->actA = src;
      e->actOut = dst;
    } else if (dir == Dir::BwdData) {
      using B = dnnl::deconvolution_backward_data;
      B::desc bd(dnnl::algorithm::deconvolution_direct, src, wAny, dst, st, pl, pr);
      B::primitive_desc bpd(bd, en, fpd);
      e->prim = B(bpd);
      e->primW = bpd.weights_desc();
      e->actA = dst;
      e->actOut = src;
    } else {
      using B = dnnl::deconvolution_backward_weights;
      B::desc bd(dnnl::algorithm::deconvolution_direct, src, wAny, biasMd, dst, st, pl, pr);
      B::primitive_desc bpd(bd, en, fpd);
      e->prim = B(bpd);
      e->primW = bpd.diff_weights_desc();
      e->actA = src;
      e->actOut = dst;
    }
  }
  e->bias = biasMd;
  e->reorderW = e->primW != e->userW;
  if (e->reorderW) {
    e->wBuf = memory(e->primW, en);
    memory userMem(e->userW, en, DNNL_MEMORY_NONE);
    if (dir == Dir::BwdWeights)
      e->wReorder = dnnl::reorder(dnnl::reorder::primitive_desc(e->wBuf, userMem));
    else
      e->wReorder = dnnl::reorder(dnnl::reorder::primitive_desc(userMem, e->wBuf));
  }
  return e;
}
}  // namespace

void convLike(ConvKind kind, Dir dir, const ConvShape& s, const float* a, const float* b, float* out, float* bias) {
  const bool hasBias = bias != nullptr && dir != Dir::BwdData;
  const std::string key = keyOf(kind, dir, s, hasBias);
  auto& c = cache();
  auto it = c.find(key);
  if (it == c.end()) it = c.emplace(key, build(kind, dir, s, hasBias)).first;
  ConvEntry& e = *it->second;
  auto& en = eng();
  auto& st = strm();
  if (dir == Dir::BwdWeights) {
    memory src(e.actA, en, const_cast<float*>(a));
    memory ddst(e.actOut, en, const_cast<float*>(b));
    memory user(e.userW, en, out);
    memory dw = e.reorderW ? e.wBuf : user;
    std::unordered_map<int, memory> margs = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
    if (hasBias) margs.insert({DNNL_ARG_DIFF_BIAS, memory(e.bias, en, bias)});
    e.prim.execute(st, margs);
    if (e.reorderW) e.wReorder.execute(st, {{DNNL_ARG_FROM, e.wBuf}, {DNNL_ARG_TO, user}});
  } else {
    memory user(e.userW, en, const_cast<float*>(b));
    memory w = user;
    if (e.reorderW) {
      e.wReorder.execute(st, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, e.wBuf}});
      w = e.wBuf;
    }
    memory in(e.actA, en, const_cast<float*>(a));
    memory o(e.actOut, en, out);
    if (dir == Dir::Fwd && hasBias)
      e.prim.execute(st, {{DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, memory(e.bias, en, bias)}, {DNNL_ARG_DST, o}});
    else if (dir == Dir::Fwd)
      e.prim.execute(st, {{DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, o}});
    else
      e.prim.execute(st, {{DNNL_ARG_DIFF_DST, in}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, o}});
  }
  st.wait();
}

namespace {
struct EltEntry {
  dnnl::primitive prim;
  memory::desc md;
};
std::unordered_map<std::string, std::unique_ptr<EltEntry>>& eltCache() {
  static std::unordered_map<std::string, std::unique_ptr<EltEntry>> c;
  return c;
}
}  // namespace

void eltwise(Act act, bool backward, int64_t n, const float* x, const float* dy, float* out) {
  if (act == Act::None) throw std::runtime_error("eltwise: no activation given");
  std::ostringstream k;
  k << int(act) << ':' << backward << ':' << n;
  auto& c = eltCache();
  auto it = c.find(k.str());
  auto& en = eng();
  const auto alg = act == Act::Relu ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::eltwise_swish;
  // relu alpha = 0 (negative slope); swish alpha = 1 gives x * sigmoid(x) = SiLU
  const float alpha = act == Act::Relu ? 0.f : 1.f;
  if (it == c.end()) {
    auto e = std::make_unique<EltEntry>();
    e->md = memory::desc({n}, dt::f32, tag::a);
    dnnl::eltwise_forward::desc fd(dnnl::prop_kind::forward_training, alg, e->md, alpha, 0.f);
    dnnl::eltwise_forward::primitive_desc fpd(fd, en);
    if (!backward) {
      e->prim = dnnl::eltwise_forward(fpd);
    } else {
      dnnl::eltwise_backward::desc bd(alg, e->md, e->md, alpha, 0.f);
      e->prim = dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(bd, en, fpd));
    }
    it = c.emplace(k.str(), std::move(e)).first;
  }
  EltEntry& e = *it->second;
  auto& st = strm();
  memory xm(e.md, en, const_cast<float*>(x));
  memory om(e.md, en, out);
  if (!backward) {
    e.prim.execute(st, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, om}});
  } else {
    memory dym(e.md, en, const_cast<float*>(dy));
    e.prim.execute(st, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_SRC, om}});
  }
  st.wait();
}

void setThreads(int n) {
  if (n > 0) omp_set_num_threads(n);
}
int getThreads() { return omp_get_max_threads(); }

std::string dnnlVersion() {
  const dnnl_version_t* v = dnnl_version();
  std::ostringstream o;
  o << v->major << '.' << v->minor << '.' << v->patch << " (" << (v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : "other")
    << ")";
  return o.str();
}

void clearCache() {
  cache().clear();
  eltCache().clear();
}
int64_t cacheSize() { return int64_t(cache().size() + eltCache().size()); }

}  // namespace vmat
