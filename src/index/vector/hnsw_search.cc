// Searching an HnswIndex: greedy descent through the upper layers, best-first search of
// layer 0 (on full precision or on quantized codes, then re-scored), filtered traversal, and
// exact scans. Every working buffer comes from a pooled VecScratch.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "index/vector/distance_avx512.h"
#include "index/vector/hnsw_impl.h"

namespace amalgam::index {
namespace {

using Impl = HnswGraph;

struct MinFirst {
  bool operator()(const VecCand& a, const VecCand& b) const { return a.dist > b.dist; }
};
struct MaxFirst {
  bool operator()(const VecCand& a, const VecCand& b) const { return a.dist < b.dist; }
};

// Distance functors: operator()(slot) and Prefetch(slot).
struct FloatL2 {
  const Impl& ix;
  const float* q;
  float (*fn)(const float*, const float*, size_t);
  float operator()(uint32_t s) const { return fn(q, ix.vec(s), ix.dims); }
  void Prefetch(uint32_t s) const { PrefetchBytes(ix.vec(s), ix.dims * 4); }
};
struct FloatIP {
  const Impl& ix;
  const float* q;
  float (*fn)(const float*, const float*, size_t);
  float operator()(uint32_t s) const { return 1.0f - fn(q, ix.vec(s), ix.dims); }
  void Prefetch(uint32_t s) const { PrefetchBytes(ix.vec(s), ix.dims * 4); }
};
struct I8L2 {
  const Impl& ix;
  const int8_t* q;
  int32_t (*fn)(const int8_t*, const int8_t*, size_t);
  const int8_t* code(uint32_t s) const {
    return reinterpret_cast<const int8_t*>(ix.code(s));
  }
  float operator()(uint32_t s) const { return float(fn(q, code(s), ix.dims)); }
  void Prefetch(uint32_t s) const { PrefetchBytes(code(s), ix.code_bytes); }
};
struct I8IP {
  const Impl& ix;
  const int8_t* q;
  int32_t (*fn)(const int8_t*, const int8_t*, size_t);
  const int8_t* code(uint32_t s) const {
    return reinterpret_cast<const int8_t*>(ix.code(s));
  }
  float operator()(uint32_t s) const { return -float(fn(q, code(s), ix.dims)); }
  void Prefetch(uint32_t s) const { PrefetchBytes(code(s), ix.code_bytes); }
};
struct Hamming {
  const Impl& ix;
  const uint64_t* q;
  uint32_t (*fn)(const uint64_t*, const uint64_t*, size_t);
  const uint64_t* code(uint32_t s) const {
    return reinterpret_cast<const uint64_t*>(ix.code(s));
  }
  float operator()(uint32_t s) const { return float(fn(q, code(s), ix.code_words)); }
  void Prefetch(uint32_t s) const { PrefetchBytes(code(s), ix.code_bytes); }
};

// Asymmetric binary distance: the centred float query against the code's signs. Ranks like
// -<q - c, sign(x - c)>; far closer to the true order than Hamming between two codes.
struct BinaryAsym {
  const Impl& ix;
  const float* q;  // query minus the quantizer's centre
  float (*fn)(const float*, const uint64_t*, size_t);
  const uint64_t* code(uint32_t s) const {
    return reinterpret_cast<const uint64_t*>(ix.code(s));
  }
  float operator()(uint32_t s) const { return -fn(q, code(s), ix.dims); }
  void Prefetch(uint32_t s) const { PrefetchBytes(code(s), ix.code_bytes); }
};

// The same distances with the AVX-512 kernels called directly: the search loops below are
// instantiated inside AVX-512 functions marked `flatten`, so these inline into the loop instead
// of costing an indirect call per neighbour. Used only when the CPU has AVX-512.
struct FloatL2Avx512 {
  const Impl& ix;
  const float* q;
  AMALGAM_AVX512_TARGET float operator()(uint32_t s) const { return vecdist::avx512::L2Sq(q, ix.vec(s), ix.dims); }
  void Prefetch(uint32_t s) const { PrefetchBytes(ix.vec(s), ix.dims * 4); }
};
struct FloatIPAvx512 {
  const Impl& ix;
  const float* q;
  AMALGAM_AVX512_TARGET float operator()(uint32_t s) const {
    return 1.0f - vecdist::avx512::Dot(q, ix.vec(s), ix.dims);
  }
  void Prefetch(uint32_t s) const { PrefetchBytes(ix.vec(s), ix.dims * 4); }
};
struct I8L2Avx512 {
  const Impl& ix;
  const int8_t* q;
  const int8_t* code(uint32_t s) const {
    return reinterpret_cast<const int8_t*>(ix.code(s));
  }
  AMALGAM_AVX512_TARGET float operator()(uint32_t s) const {
    return float(vecdist::avx512::L2SqI8(q, code(s), ix.dims));
  }
  void Prefetch(uint32_t s) const { PrefetchBytes(code(s), ix.code_bytes); }
};
struct I8IPAvx512 {
  const Impl& ix;
  const int8_t* q;
  const int8_t* code(uint32_t s) const {
    return reinterpret_cast<const int8_t*>(ix.code(s));
  }
  AMALGAM_AVX512_TARGET float operator()(uint32_t s) const {
    return -float(vecdist::avx512::DotI8(q, code(s), ix.dims));
  }
  void Prefetch(uint32_t s) const { PrefetchBytes(code(s), ix.code_bytes); }
};

struct AcceptAll {
  bool operator()(uint32_t) const { return true; }
};
// Live, in the allow-list (if any), accepted by the predicate (if any).
struct AcceptFiltered {
  const Impl& ix;
  const uint16_t* allowed;  // null: no allow-list
  uint16_t allow_epoch;
  const LabelPredicate* pred;
  bool operator()(uint32_t s) const {
    if (ix.free_flag[s]) return false;
    if (allowed && allowed[s] != allow_epoch) return false;
    return !pred || pred->Accepts(ix.labels[s]);
  }
};

// Best-first search of layer 0 from `ep`; leaves up to `ef` accepted nodes in s.top (max-heap).
// Nodes that are not accepted are still expanded, so the search walks through them.
template <class D, class A>
void SearchLayer0(const Impl& ix, VecScratch& s, uint32_t ep, size_t ef, const D& dist, const A& accept,
                  SearchInfo* info) {
  s.NewVisit(ix.used);
  s.cand.clear();
  s.top.clear();
  if (s.batch.size() < ix.M0) s.batch.resize(ix.M0);
  const uint16_t epoch = s.visit_epoch;
  uint16_t* visited = s.visited.data();
  uint32_t* batch = s.batch.data();
  float d = dist(ep);
  size_t ndist = 1, nvisit = 0;
  visited[ep] = epoch;
  s.cand.push_back({d, ep});
  float bound = INFINITY;
  if (accept(ep)) {
    s.top.push_back({d, ep});
    bound = d;
  }
  while (!s.cand.empty()) {
    VecCand c = s.cand.front();
    if (c.dist > bound && s.top.size() >= ef) break;
    std::pop_heap(s.cand.begin(), s.cand.end(), MinFirst());
    s.cand.pop_back();
    if (!s.cand.empty()) __builtin_prefetch(ix.link0(s.cand.front().slot));
    ++nvisit;
    const uint32_t* l = ix.link0(c.slot);
    uint32_t n = l[0];
    size_t nb = 0;
    for (uint32_t i = 1; i <= n; ++i) {
      uint32_t id = l[i];
      if (visited[id] == epoch) continue;
      visited[id] = epoch;
      batch[nb++] = id;
      dist.Prefetch(id);
    }
    ndist += nb;
    for (size_t j = 0; j < nb; ++j) {
      uint32_t id = batch[j];
      float dd = dist(id);
      if (s.top.size() < ef || dd < bound) {
        s.cand.push_back({dd, id});
        std::push_heap(s.cand.begin(), s.cand.end(), MinFirst());
        if (accept(id)) {
          s.top.push_back({dd, id});
          std::push_heap(s.top.begin(), s.top.end(), MaxFirst());
          if (s.top.size() > ef) {
            std::pop_heap(s.top.begin(), s.top.end(), MaxFirst());
            s.top.pop_back();
          }
          bound = s.top.front().dist;
        }
      }
    }
  }
  if (info) {
    info->distance_computations += ndist;
    info->nodes_visited += nvisit;
  }
}

// Greedy descent from the entry point to layer 1; returns the layer-0 entry. Each node's
// neighbours' vectors are prefetched before any of their distances is computed.
template <class D>
uint32_t DescendWith(const Impl& ix, const D& dist, SearchInfo* info) {
  uint32_t ep = ix.entry;
  float epd = dist(ep);
  size_t ndist = 1;
  for (int l = ix.max_level; l > 0; --l) {
    bool changed = true;
    while (changed) {
      changed = false;
      const uint32_t* ln = ix.links(ep, l);
      const uint32_t n = ln[0];
      for (uint32_t i = 1; i <= n; ++i) dist.Prefetch(ln[i]);
      for (uint32_t i = 1; i <= n; ++i) {
        float d = dist(ln[i]);
        ++ndist;
        if (d < epd) {
          epd = d;
          ep = ln[i];
          changed = true;
        }
      }
    }
  }
  if (info) info->distance_computations += ndist;
  return ep;
}

template <class D>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,popcnt"), flatten)) uint32_t DescendAvx512(
    const Impl& ix, const D& dist, SearchInfo* info) {
  return DescendWith(ix, dist, info);
}

// With quantization the upper layers are walked on the codes too (EncodeQuery first).
uint32_t Descend(const Impl& ix, const VecScratch& s, const float* q, SearchInfo* info) {
  const bool euclidean = ix.opt.metric == VectorMetric::kEuclidean;
  const vecdist::Kernels& k = *ix.kern;
  if (ix.opt.quantization == VectorQuantization::kScalar) {
    if (ix.kern == vecdist::Avx512())
      return euclidean ? DescendAvx512(ix, I8L2Avx512{ix, s.qcode.data()}, info)
                       : DescendAvx512(ix, I8IPAvx512{ix, s.qcode.data()}, info);
    return euclidean ? DescendWith(ix, I8L2{ix, s.qcode.data(), k.l2sq_i8}, info)
                     : DescendWith(ix, I8IP{ix, s.qcode.data(), k.dot_i8}, info);
  }
  if (ix.opt.quantization == VectorQuantization::kBinary) {
    if (ix.binary_hamming) return DescendWith(ix, Hamming{ix, s.qbits.data(), k.hamming}, info);
    return DescendWith(ix, BinaryAsym{ix, s.qcentered.data(), k.masked_sum}, info);
  }
  if (ix.kern == vecdist::Avx512()) {
    return euclidean ? DescendAvx512(ix, FloatL2Avx512{ix, q}, info) : DescendAvx512(ix, FloatIPAvx512{ix, q}, info);
  }
  return euclidean ? DescendWith(ix, FloatL2{ix, q, ix.kern->l2sq}, info)
                   : DescendWith(ix, FloatIP{ix, q, ix.kern->dot}, info);
}

// Layer-0 search with an AVX-512 distance functor, the whole loop compiled for AVX-512 and
// everything it calls inlined into it.
template <class D, class A>
__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,popcnt"), flatten)) void SearchLayer0Avx512(
    const Impl& ix, VecScratch& s, uint32_t ep, size_t ef, const D& dist, const A& accept, SearchInfo* info) {
  SearchLayer0(ix, s, ep, ef, dist, accept, info);
}

template <class A>
void RunLayer0(const Impl& ix, VecScratch& s, uint32_t ep, size_t ef, const A& accept, SearchInfo* info) {
  const vecdist::Kernels& k = *ix.kern;
  const bool avx512 = &k == vecdist::Avx512();
  const bool euclidean = ix.opt.metric == VectorMetric::kEuclidean;
  if (avx512 && ix.opt.quantization == VectorQuantization::kNone) {
    if (euclidean)
      SearchLayer0Avx512(ix, s, ep, ef, FloatL2Avx512{ix, s.query.data()}, accept, info);
    else
      SearchLayer0Avx512(ix, s, ep, ef, FloatIPAvx512{ix, s.query.data()}, accept, info);
    return;
  }
  if (avx512 && ix.opt.quantization == VectorQuantization::kScalar) {
    if (euclidean)
      SearchLayer0Avx512(ix, s, ep, ef, I8L2Avx512{ix, s.qcode.data()}, accept, info);
    else
      SearchLayer0Avx512(ix, s, ep, ef, I8IPAvx512{ix, s.qcode.data()}, accept, info);
    return;
  }
  switch (ix.opt.quantization) {
    case VectorQuantization::kNone:
      if (ix.opt.metric == VectorMetric::kEuclidean)
        SearchLayer0(ix, s, ep, ef, FloatL2{ix, s.query.data(), k.l2sq}, accept, info);
      else
        SearchLayer0(ix, s, ep, ef, FloatIP{ix, s.query.data(), k.dot}, accept, info);
      break;
    case VectorQuantization::kScalar:
      if (ix.opt.metric == VectorMetric::kEuclidean)
        SearchLayer0(ix, s, ep, ef, I8L2{ix, s.qcode.data(), k.l2sq_i8}, accept, info);
      else
        SearchLayer0(ix, s, ep, ef, I8IP{ix, s.qcode.data(), k.dot_i8}, accept, info);
      break;
    case VectorQuantization::kBinary:
      if (ix.binary_hamming)
        SearchLayer0(ix, s, ep, ef, Hamming{ix, s.qbits.data(), k.hamming}, accept, info);
      else
        SearchLayer0(ix, s, ep, ef, BinaryAsym{ix, s.qcentered.data(), k.masked_sum}, accept, info);
      break;
  }
}

// Sorts candidates (full-precision distances) by (distance, label) and emits the first k.
void Emit(const Impl& ix, std::vector<VecCand>& c, size_t k, std::vector<VectorHit>* out) {
  auto less = [&](const VecCand& a, const VecCand& b) {
    return a.dist < b.dist || (a.dist == b.dist && ix.labels[a.slot] < ix.labels[b.slot]);
  };
  if (c.size() > k) {
    std::partial_sort(c.begin(), c.begin() + k, c.end(), less);
    c.resize(k);
  } else {
    std::sort(c.begin(), c.end(), less);
  }
  out->reserve(c.size());
  for (const VecCand& x : c) out->push_back({ix.labels[x.slot], ix.ExternalDistance(x.dist)});
}

// Keeps the k best in a max-heap.
template <class C>
inline void PushTopK(std::vector<C>& top, size_t k, C c) {
  auto worse = [](const C& a, const C& b) { return a.dist < b.dist; };
  if (top.size() < k) {
    top.push_back(c);
    std::push_heap(top.begin(), top.end(), worse);
  } else if (c.dist < top.front().dist) {
    std::pop_heap(top.begin(), top.end(), worse);
    top.back() = c;
    std::push_heap(top.begin(), top.end(), worse);
  }
}

// The live slots passing the filter (all live slots without one), de-duplicated, into s.batch;
// returns their number.
size_t MatchingSlots(const Impl& ix, VecScratch& s, const VectorFilter* f) {
  const LabelPredicate* pred = f ? f->predicate : nullptr;
  size_t m = 0;
  if (f && f->has_allow) {
    s.NewVisit(ix.used);
    const uint16_t epoch = s.visit_epoch;
    if (s.batch.size() < f->allow.size()) s.batch.resize(f->allow.size());
    for (uint64_t label : f->allow) {
      uint32_t slot = ix.label_map.Find(label);
      if (slot == LabelMap::kNone || s.visited[slot] == epoch) continue;
      s.visited[slot] = epoch;
      if (pred && !pred->Accepts(label)) continue;
      s.batch[m++] = slot;
    }
  } else {
    if (s.batch.size() < ix.live()) s.batch.resize(ix.live());
    for (uint32_t slot = 0; slot < ix.used; ++slot) {
      if (ix.free_flag[slot]) continue;
      if (pred && !pred->Accepts(ix.labels[slot])) continue;
      s.batch[m++] = slot;
    }
  }
  return m;
}

// Exact scan on the in-memory float32 vectors (no quantization).
void ExactLocked(const Impl& ix, VecScratch& s, size_t k, const VectorFilter* f, std::vector<VectorHit>* out,
                 SearchInfo* info) {
  s.top.clear();
  const float* q = s.query.data();
  const size_t m = MatchingSlots(ix, s, f);
  // The rows are scattered, so the scan is bound by memory latency: prefetch a few ahead.
  constexpr size_t kAhead = 6;
  for (size_t i = 0; i < std::min(m, kAhead); ++i) PrefetchBytes(ix.vec(s.batch[i]), ix.dims * 4);
  for (size_t i = 0; i < m; ++i) {
    if (i + kAhead < m) PrefetchBytes(ix.vec(s.batch[i + kAhead]), ix.dims * 4);
    uint32_t slot = s.batch[i];
    PushTopK(s.top, k, VecCand{ix.Dist(q, slot), slot});
  }
  if (info) info->distance_computations += m;
  Emit(ix, s.top, k, out);
}

// Quantized: scan the codes of the matching slots, keeping the best `width` in s.top.
void CodeScanLocked(const Impl& ix, VecScratch& s, size_t width, const VectorFilter* f, SearchInfo* info) {
  s.top.clear();
  const size_t m = MatchingSlots(ix, s, f);
  for (size_t i = 0; i < m; ++i) PushTopK(s.top, width, VecCand{ix.CodeDist(s, s.batch[i]), s.batch[i]});
  if (info) info->distance_computations += m;
}

struct LabCand {
  float dist;
  uint64_t label;
};

// Full-precision distance from the prepared query to a prepared vector.
inline float FullDist(const Impl& ix, const float* q, const float* v) {
  return ix.opt.metric == VectorMetric::kEuclidean ? ix.kern->l2sq(q, v, ix.dims) : 1.0f - ix.kern->dot(q, v, ix.dims);
}

// Scores s.rlabels on full precision read from `source`, keeping the best k in `top`
// (max-heap). Labels the source does not have are skipped. Runs without the index lock.
Status ScoreFromSource(const Impl& ix, VecScratch& s, const FullVectorSource& source, size_t k,
                       std::vector<LabCand>& top, SearchInfo* info) {
  constexpr size_t kBatch = 256;
  const size_t d = ix.dims;
  const float* q = s.query.data();
  for (size_t at = 0; at < s.rlabels.size(); at += kBatch) {
    size_t n = std::min(kBatch, s.rlabels.size() - at);
    s.rvecs.resize(n * d);
    s.rfound.assign(n, 0);
    AMALGAM_RETURN_IF_ERROR(
        source.Fetch(std::span<const uint64_t>(s.rlabels.data() + at, n), s.rvecs.data(), s.rfound.data()));
    if (info) info->vectors_fetched += n;
    for (size_t i = 0; i < n; ++i) {
      if (!s.rfound[i]) continue;
      float* v = s.rvecs.data() + i * d;
      if (!ix.PrepareVector(v, v).ok()) continue;  // the source's copy is unusable: skip it
      PushTopK(top, k, LabCand{FullDist(ix, q, v), s.rlabels[at + i]});
    }
    if (info) info->distance_computations += n;
  }
  return Status::OK();
}

Status EmitFromSource(const Impl& ix, VecScratch& s, const FullVectorSource& source, size_t k,
                      std::vector<VectorHit>* out, SearchInfo* info) {
  std::vector<LabCand> top;
  top.reserve(k + 1);
  AMALGAM_RETURN_IF_ERROR(ScoreFromSource(ix, s, source, k, top, info));
  std::sort(top.begin(), top.end(), [](const LabCand& a, const LabCand& b) {
    return a.dist < b.dist || (a.dist == b.dist && a.label < b.label);
  });
  out->reserve(top.size());
  for (const LabCand& c : top) out->push_back({c.label, ix.ExternalDistance(c.dist)});
  return Status::OK();
}

Status NoSource() {
  return Status(ErrorCode::kIllegalOperation,
                "a quantized vector index needs a full-vector source to re-score its candidates");
}

FilterPlan ChoosePlanLocked(const Impl& ix, const VectorFilter& f, size_t ef) {
  double n = double(ix.live());
  double matching;
  if (f.has_allow) {
    matching = double(f.allow.size());
  } else if (f.predicate) {
    if (f.estimated_selectivity < 0) return FilterPlan::kFilteredGraph;
    matching = f.estimated_selectivity * n;
  } else {
    return FilterPlan::kNone;
  }
  double bound = std::max({double(HnswIndex::kExactScanMinRows), double(ef * HnswIndex::kExactScanEfFactor),
                           n * HnswIndex::kExactScanSelectivity});
  return matching <= bound ? FilterPlan::kExactScan : FilterPlan::kFilteredGraph;
}

struct ScratchGuard {
  const Impl& ix;
  VecScratch* s;
  ~ScratchGuard() { ix.Release(s); }
};

// Exact (ENN) search. Without quantization on the vectors in memory; with it, every matching
// vector is read through the source (the lock is released first).
Status ExactSearchImpl(const Impl& ix, VecScratch& s, std::shared_lock<std::shared_mutex>& g, size_t k,
                       const VectorFilter* f, const FullVectorSource* source, std::vector<VectorHit>* out,
                       SearchInfo* info) {
  if (!ix.quantized()) {
    ExactLocked(ix, s, k, f, out, info);
    return Status::OK();
  }
  if (!source) return NoSource();
  const size_t m = MatchingSlots(ix, s, f);
  s.rlabels.resize(m);
  for (size_t i = 0; i < m; ++i) s.rlabels[i] = ix.labels[s.batch[i]];
  g.unlock();
  return EmitFromSource(ix, s, *source, k, out, info);
}

}  // namespace

FilterPlan HnswIndex::ChooseFilterPlan(const VectorFilter& filter, size_t ef) const {
  std::shared_lock<std::shared_mutex> g(impl_->mu);
  return ChoosePlanLocked(*impl_, filter, ef);
}

Status HnswIndex::Search(const float* query, const SearchOptions& o, std::vector<VectorHit>* out,
                         SearchInfo* info) const {
  out->clear();
  if (o.k == 0) return InvalidArgument("the number of results must be at least 1");
  const Impl& ix = *impl_;
  ScratchGuard guard{ix, ix.Acquire()};
  VecScratch& s = *guard.s;
  s.query.resize(ix.dims);
  AMALGAM_RETURN_IF_ERROR(ix.PrepareVector(query, s.query.data()));
  std::shared_lock<std::shared_mutex> g(ix.mu);
  ix.n_searches.fetch_add(1, std::memory_order_relaxed);
  if (ix.live() == 0 || ix.entry == Impl::kNone) return Status::OK();
  const size_t k = o.k;
  const size_t ef = std::max(o.ef ? o.ef : std::max<size_t>(k, 64), k);
  const VectorFilter* f = o.filter;
  if (f && !f->has_allow && !f->predicate) f = nullptr;
  FilterPlan plan = f ? ChoosePlanLocked(ix, *f, ef) : FilterPlan::kNone;
  if (f && o.force_plan != FilterPlan::kNone) plan = o.force_plan;
  if (info) info->plan = plan;
  const bool quantized = ix.quantized();
  std::shared_ptr<const FullVectorSource> keep;
  const FullVectorSource* source = o.source;
  if (quantized && !source) {
    keep = ix.source;
    source = keep.get();
    if (!source) return NoSource();
  }
  if (o.exact) return ExactSearchImpl(ix, s, g, k, f, source, out, info);
  if (!quantized && plan == FilterPlan::kExactScan) {
    ExactLocked(ix, s, k, f, out, info);
    return Status::OK();
  }
  if (f && f->has_allow && f->allow.empty()) return Status::OK();

  size_t width = ef;
  if (quantized) {
    ix.EncodeQuery(s.query.data(), s);
    width = std::max(ef, k * ix.opt.rescore_multiplier);
  }
  if (plan == FilterPlan::kExactScan) {
    CodeScanLocked(ix, s, width, f, info);  // quantized: exact scan on the codes, re-scored below
  } else {
    uint32_t ep = Descend(ix, s, s.query.data(), info);
    if (!f && ix.free_slots.empty()) {
      RunLayer0(ix, s, ep, width, AcceptAll{}, info);
    } else {
      const uint16_t* allowed = nullptr;
      if (f && f->has_allow) {
        s.NewAllow(ix.used);
        for (uint64_t label : f->allow) {
          uint32_t slot = ix.label_map.Find(label);
          if (slot != LabelMap::kNone) s.allowed[slot] = s.allow_epoch;
        }
        allowed = s.allowed.data();
      }
      RunLayer0(ix, s, ep, width, AcceptFiltered{ix, allowed, s.allow_epoch, f ? f->predicate : nullptr}, info);
    }
    if (f && s.top.size() < k) {
      // The graph walk found fewer matches than wanted: only an exact scan can tell whether
      // more exist.
      if (info) info->plan = FilterPlan::kExactScan;
      if (!quantized) {
        ExactLocked(ix, s, k, f, out, info);
        return Status::OK();
      }
      CodeScanLocked(ix, s, width, f, info);
    }
  }
  if (!quantized) {
    Emit(ix, s.top, k, out);
    return Status::OK();
  }
  // Re-score on full precision. Scalar codes rank closely enough that the best
  // k * rescore_multiplier by code distance hold the true top k; one bit per dimension does
  // not, so binary re-scores every candidate gathered.
  size_t count = s.top.size();
  if (ix.opt.quantization == VectorQuantization::kScalar) count = std::min(count, k * ix.opt.rescore_multiplier);
  auto by_code = [](const VecCand& a, const VecCand& b) { return a.dist < b.dist; };
  if (count < s.top.size()) std::partial_sort(s.top.begin(), s.top.begin() + count, s.top.end(), by_code);
  s.rlabels.resize(count);
  for (size_t i = 0; i < count; ++i) s.rlabels[i] = ix.labels[s.top[i].slot];
  g.unlock();
  return EmitFromSource(ix, s, *source, k, out, info);
}

Status HnswIndex::ExactSearch(const float* query, size_t k, const VectorFilter* filter,
                              std::vector<VectorHit>* out, const FullVectorSource* source) const {
  out->clear();
  if (k == 0) return InvalidArgument("the number of results must be at least 1");
  const Impl& ix = *impl_;
  ScratchGuard guard{ix, ix.Acquire()};
  VecScratch& s = *guard.s;
  s.query.resize(ix.dims);
  AMALGAM_RETURN_IF_ERROR(ix.PrepareVector(query, s.query.data()));
  std::shared_lock<std::shared_mutex> g(ix.mu);
  ix.n_searches.fetch_add(1, std::memory_order_relaxed);
  if (filter && !filter->has_allow && !filter->predicate) filter = nullptr;
  std::shared_ptr<const FullVectorSource> keep;
  if (ix.quantized() && !source) {
    keep = ix.source;
    source = keep.get();
  }
  return ExactSearchImpl(ix, s, g, k, filter, source, out, nullptr);
}

}  // namespace amalgam::index
