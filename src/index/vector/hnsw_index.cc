// Graph construction and maintenance of HnswIndex (Malkov & Yashunin, "Efficient and robust
// approximate nearest neighbor search using HNSW graphs", with hnswlib's neighbour heuristic).
// Searching lives in hnsw_search.cc, persistence in hnsw_serialize.cc.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "index/vector/hnsw_impl.h"

namespace amalgam::index {

using Impl = HnswGraph;

// ------------------------------------------------------------------------------- names

std::string_view VectorMetricName(VectorMetric metric) {
  switch (metric) {
    case VectorMetric::kCosine: return "cosine";
    case VectorMetric::kEuclidean: return "euclidean";
    case VectorMetric::kDotProduct: return "dotProduct";
  }
  return "unknown";
}

Result<VectorMetric> ParseVectorMetric(std::string_view name) {
  if (name == "cosine") return VectorMetric::kCosine;
  if (name == "euclidean") return VectorMetric::kEuclidean;
  if (name == "dotProduct") return VectorMetric::kDotProduct;
  return InvalidArgument("similarity must be one of euclidean, cosine, dotProduct, not '" +
                         std::string(name) + "'");
}

std::string_view VectorQuantizationName(VectorQuantization q) {
  switch (q) {
    case VectorQuantization::kNone: return "none";
    case VectorQuantization::kScalar: return "scalar";
    case VectorQuantization::kBinary: return "binary";
  }
  return "unknown";
}

Result<VectorQuantization> ParseVectorQuantization(std::string_view name) {
  if (name == "none") return VectorQuantization::kNone;
  if (name == "scalar") return VectorQuantization::kScalar;
  if (name == "binary") return VectorQuantization::kBinary;
  return InvalidArgument("quantization must be one of none, scalar, binary, not '" +
                         std::string(name) + "'");
}

double ScoreFromDistance(VectorMetric metric, float distance) {
  switch (metric) {
    case VectorMetric::kCosine:
    case VectorMetric::kDotProduct:
      return (2.0 - double(distance)) / 2.0;  // distance = 1 - x, score = (1 + x) / 2
    case VectorMetric::kEuclidean: return 1.0 / (1.0 + double(distance));
  }
  return 0;
}

Status HnswOptions::Validate() const {
  if (dims < 1 || dims > kMaxDims)
    return InvalidArgument("numDimensions must be between 1 and " + std::to_string(kMaxDims) +
                           ", not " + std::to_string(dims));
  if (uint8_t(metric) > uint8_t(VectorMetric::kDotProduct)) return InvalidArgument("unknown vector metric");
  if (uint8_t(quantization) > uint8_t(VectorQuantization::kBinary))
    return InvalidArgument("unknown vector quantization");
  if (max_edges < kMinEdges || max_edges > kMaxEdges)
    return InvalidArgument("maxEdges must be between " + std::to_string(kMinEdges) + " and " +
                           std::to_string(kMaxEdges) + ", not " + std::to_string(max_edges));
  if (ef_construction < 1 || ef_construction > 10000)
    return InvalidArgument("numEdgeCandidates must be between 1 and 10000, not " +
                           std::to_string(ef_construction));
  if (rescore_multiplier < 1 || rescore_multiplier > 1000)
    return InvalidArgument("rescore multiplier must be between 1 and 1000");
  return Status::OK();
}

// ------------------------------------------------------------------------------ scratch

size_t g_prefetch_bytes = [] {
  const char* e = std::getenv("AMALGAM_VECTOR_PREFETCH_BYTES");  // for measurements
  return e ? size_t(std::strtoul(e, nullptr, 10)) : size_t(512);
}();

void VecScratch::NewVisit(size_t slots) {
  if (visited.size() < slots) visited.resize(std::max(slots, visited.size() * 2), 0);
  if (++visit_epoch == 0) {
    std::fill(visited.begin(), visited.end(), 0);
    visit_epoch = 1;
  }
}

void VecScratch::NewAllow(size_t slots) {
  if (allowed.size() < slots) allowed.resize(std::max(slots, allowed.size() * 2), 0);
  if (++allow_epoch == 0) {
    std::fill(allowed.begin(), allowed.end(), 0);
    allow_epoch = 1;
  }
}

VecScratch* HnswGraph::Acquire() const {
  {
    std::lock_guard<std::mutex> g(pool_mu);
    if (!pool.empty()) {
      VecScratch* s = pool.back().release();
      pool.pop_back();
      return s;
    }
  }
  return new VecScratch();  // NOLINT: owned by the pool or the caller's unique_ptr
}

void HnswGraph::Release(VecScratch* s) const {
  std::lock_guard<std::mutex> g(pool_mu);
  pool.emplace_back(s);
}

// --------------------------------------------------------------------------------- impl

HnswGraph::HnswGraph(const HnswOptions& o) : opt(o), kern(&vecdist::Active()) {
  dims = o.dims;
  M = o.max_edges;
  M0 = 2 * o.max_edges;
  link0_stride = 1 + M0;
  upper_stride = 1 + M;
  level_mult = 1.0 / std::log(double(std::max<uint32_t>(M, 2)));
  rng_state = o.seed;
  if (o.quantization == VectorQuantization::kScalar) {
    code_bytes = dims;
  } else if (o.quantization == VectorQuantization::kBinary) {
    code_words = (dims + 63) / 64;
    code_bytes = code_words * 8;
    center.assign(dims, 0.0f);
  }
  payload_off = link0_stride * 4;
  payload_bytes = o.quantization == VectorQuantization::kNone ? size_t(dims) * 4 : code_bytes;
  if (o.quantization == VectorQuantization::kBinary) payload_off = (payload_off + 7) & ~size_t(7);
  slot_bytes = payload_off + payload_bytes;
  binary_hamming = std::getenv("AMALGAM_VECTOR_BINARY_HAMMING") != nullptr;
}

float HnswGraph::ExternalDistance(float internal) const {
  if (opt.metric == VectorMetric::kEuclidean) return std::sqrt(std::max(internal, 0.0f));
  return internal;
}

float HnswGraph::PairDist(uint32_t a, uint32_t b) const {
  switch (opt.quantization) {
    case VectorQuantization::kNone: return Dist(vec(a), b);
    case VectorQuantization::kScalar: {
      const int8_t* ca = reinterpret_cast<const int8_t*>(code(a));
      const int8_t* cb = reinterpret_cast<const int8_t*>(code(b));
      return opt.metric == VectorMetric::kEuclidean ? float(kern->l2sq_i8(ca, cb, dims))
                                                    : -float(kern->dot_i8(ca, cb, dims));
    }
    case VectorQuantization::kBinary:
      return float(kern->hamming(reinterpret_cast<const uint64_t*>(code(a)),
                                 reinterpret_cast<const uint64_t*>(code(b)), code_words));
  }
  return 0;
}

float HnswGraph::CodeDist(const VecScratch& s, uint32_t slot) const {
  if (opt.quantization == VectorQuantization::kScalar) {
    const int8_t* c = reinterpret_cast<const int8_t*>(code(slot));
    return opt.metric == VectorMetric::kEuclidean ? float(kern->l2sq_i8(s.qcode.data(), c, dims))
                                                  : -float(kern->dot_i8(s.qcode.data(), c, dims));
  }
  const uint64_t* w = reinterpret_cast<const uint64_t*>(code(slot));
  if (binary_hamming) return float(kern->hamming(s.qbits.data(), w, code_words));
  return -kern->masked_sum(s.qcentered.data(), w, dims);
}

void HnswGraph::Grow(size_t min_capacity, bool exact) {
  if (min_capacity <= capacity) return;
  size_t cap = std::max<size_t>(capacity ? capacity : 16, 16);
  while (cap < min_capacity) cap *= 2;
  if (exact) cap = min_capacity;
  char* grown = static_cast<char*>(std::malloc(cap * slot_bytes));
  if (grown == nullptr) throw std::bad_alloc();
  if (capacity) std::memcpy(grown, slab.get(), std::min(cap, capacity) * slot_bytes);
  if (cap > capacity) std::memset(grown + capacity * slot_bytes, 0, (cap - capacity) * slot_bytes);
  slab.reset(grown);
  labels.resize(cap);
  labels.shrink_to_fit();
  levels.resize(cap);
  levels.shrink_to_fit();
  free_flag.resize(cap);
  free_flag.shrink_to_fit();
  upper.resize(cap);
  upper.shrink_to_fit();
  capacity = cap;
}

int HnswGraph::RandomLevel() {
  // splitmix64 step: a 64-bit state that Serialize keeps, so reloaded indexes grow identically.
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  double u = (double(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);  // (0, 1)
  int level = int(-std::log(u) * level_mult);
  return std::min(level, kMaxLevel);
}

Status HnswGraph::PrepareVector(const float* in, float* out) const {
  double norm = 0;
  for (uint32_t i = 0; i < dims; ++i) {
    if (!std::isfinite(in[i]))
      return InvalidArgument("vector component " + std::to_string(i) + " is not a finite number");
    norm += double(in[i]) * in[i];
  }
  if (opt.metric == VectorMetric::kCosine) {
    if (norm == 0) return InvalidArgument("a zero vector has no cosine similarity");
    float inv = float(1.0 / std::sqrt(norm));
    for (uint32_t i = 0; i < dims; ++i) out[i] = in[i] * inv;
  } else if (out != in) {
    std::memcpy(out, in, dims * sizeof(float));
  }
  return Status::OK();
}

void HnswGraph::Encode(const float* v, uint8_t* code) const {
  if (opt.quantization == VectorQuantization::kScalar) {
    float inv = scale > 0 ? 1.0f / scale : 0.0f;
    int8_t* c = reinterpret_cast<int8_t*>(code);
    for (uint32_t i = 0; i < dims; ++i) {
      float x = std::nearbyint(v[i] * inv);
      c[i] = int8_t(std::clamp(x, -127.0f, 127.0f));
    }
  } else if (opt.quantization == VectorQuantization::kBinary) {
    std::memset(code, 0, code_bytes);
    uint64_t* w = reinterpret_cast<uint64_t*>(code);
    for (uint32_t i = 0; i < dims; ++i)
      if (v[i] > center[i]) w[i / 64] |= uint64_t(1) << (i % 64);
  }
}

void HnswGraph::EncodeQuery(const float* q, VecScratch& s) const {
  if (opt.quantization == VectorQuantization::kScalar) {
    s.qcode.resize(dims);
    Encode(q, reinterpret_cast<uint8_t*>(s.qcode.data()));
  } else if (opt.quantization == VectorQuantization::kBinary) {
    s.qbits.resize(code_words);
    Encode(q, reinterpret_cast<uint8_t*>(s.qbits.data()));
    s.qcentered.resize(dims);
    for (uint32_t i = 0; i < dims; ++i) s.qcentered[i] = q[i] - center[i];
  }
}

// Fits the quantizer on the live vectors (at most kTrainUntil of them) each time their number
// doubles up to kTrainUntil, then re-encodes every slot from train_vecs, which holds every
// slot's float32 vector until then; once fitted on kTrainUntil vectors the quantizer is final
// and train_vecs is freed. Links made before a refit were chosen on the earlier codes; they
// stay valid links (only their choice was a little less informed).
void HnswGraph::MaybeTrain() {
  if (!training()) return;
  size_t n = live();
  if (trained != 0 && n < size_t(trained) * 2) return;
  auto vec = [&](uint32_t s) { return train_vecs.data() + size_t(s) * dims; };
  std::vector<uint32_t> sample;
  for (uint32_t s = 0; s < used && sample.size() < kTrainUntil; ++s)
    if (!free_flag[s]) sample.push_back(s);
  if (sample.empty()) return;
  if (opt.quantization == VectorQuantization::kScalar) {
    // Scale from a high quantile of |x| rather than the maximum, so one outlier component does
    // not waste the 8 bits of every other.
    std::vector<float> mags;
    size_t stride = std::max<size_t>(1, sample.size() * dims / 65536);
    size_t idx = 0;
    for (uint32_t s : sample)
      for (uint32_t i = 0; i < dims; ++i, ++idx)
        if (idx % stride == 0) mags.push_back(std::fabs(vec(s)[i]));
    size_t q = std::min(mags.size() - 1, size_t(double(mags.size()) * 0.9995));
    std::nth_element(mags.begin(), mags.begin() + q, mags.end());
    float top = mags[q];
    if (!(top > 0)) top = *std::max_element(mags.begin(), mags.end());
    scale = top > 0 ? top / 127.0f : 1.0f;
  } else {
    std::vector<double> sum(dims, 0);
    for (uint32_t s : sample)
      for (uint32_t i = 0; i < dims; ++i) sum[i] += vec(s)[i];
    for (uint32_t i = 0; i < dims; ++i) center[i] = float(sum[i] / double(sample.size()));
  }
  trained = uint32_t(std::min<size_t>(n, kTrainUntil));
  for (uint32_t s = 0; s < used; ++s) Encode(vec(s), code(s));
  if (!training()) {
    train_vecs.clear();
    train_vecs.shrink_to_fit();
  }
}

// ------------------------------------------------------------------------------ linking

namespace {

struct MinFirst {
  bool operator()(const VecCand& a, const VecCand& b) const { return a.dist > b.dist; }
};
struct MaxFirst {
  bool operator()(const VecCand& a, const VecCand& b) const { return a.dist < b.dist; }
};

// Best-first search at one layer for construction (dist(slot): distance from the new node):
// the up-to-`ef` nearest nodes other than `self` (traversed but never returned), left in s.top.
template <class D>
void BuildSearch(const HnswGraph& ix, VecScratch& s, const D& dist, uint32_t ep, int level,
                 size_t ef, uint32_t self) {
  s.NewVisit(ix.used);
  s.cand.clear();
  s.top.clear();
  if (s.batch.size() < ix.M0) s.batch.resize(ix.M0);
  const uint16_t epoch = s.visit_epoch;
  float d = dist(ep);
  s.visited[ep] = epoch;
  s.cand.push_back({d, ep});
  if (ep != self) s.top.push_back({d, ep});
  s.visited[self] = epoch;
  float bound = ep != self ? d : INFINITY;
  while (!s.cand.empty()) {
    VecCand c = s.cand.front();
    if (c.dist > bound && s.top.size() >= ef) break;
    std::pop_heap(s.cand.begin(), s.cand.end(), MinFirst());
    s.cand.pop_back();
    if (!s.cand.empty()) __builtin_prefetch(ix.links(s.cand.front().slot, level));
    const uint32_t* l = ix.links(c.slot, level);
    uint32_t n = l[0];
    // Unvisited neighbours first, their vectors prefetched whole, then the distances.
    size_t nb = 0;
    for (uint32_t i = 1; i <= n; ++i) {
      uint32_t id = l[i];
      if (s.visited[id] == epoch) continue;
      s.visited[id] = epoch;
      s.batch[nb++] = id;
      PrefetchBytes(ix.payload(id), ix.payload_bytes);
    }
    for (size_t j = 0; j < nb; ++j) {
      uint32_t id = s.batch[j];
      float dd = dist(id);
      if (s.top.size() < ef || dd < bound) {
        s.cand.push_back({dd, id});
        std::push_heap(s.cand.begin(), s.cand.end(), MinFirst());
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

// hnswlib's heuristic: walk candidates closest first, keep one unless it is closer to an
// already kept neighbour than to the base; stop at `m`. `cands` is sorted ascending.
void SelectNeighbors(const HnswGraph& ix, std::vector<VecCand>& cands, size_t m) {
  if (cands.size() <= m) return;
  size_t kept = 0;
  for (size_t i = 0; i < cands.size() && kept < m; ++i) {
    const VecCand& c = cands[i];
    bool good = true;
    for (size_t j = 0; j < kept; ++j) {
      if (ix.PairDist(cands[j].slot, c.slot) < c.dist) {
        good = false;
        break;
      }
    }
    if (good) cands[kept++] = c;
  }
  cands.resize(kept);
}

// Connects `slot` (payload stored, level set) into every layer <= its level; dist(id) is the
// distance from the new node used to find its candidates.
template <class D>
void LinkWith(HnswGraph& ix, VecScratch* s, uint32_t slot, int level, const D& dist) {
  uint32_t ep = ix.entry;
  const int max_level = ix.max_level;
  const uint32_t M = ix.M, M0 = ix.M0;
  // Greedy descent through the layers above the new node's level.
  float epd = ep == slot ? INFINITY : dist(ep);
  for (int l = max_level; l > level; --l) {
    bool changed = true;
    while (changed) {
      changed = false;
      const uint32_t* ln = ix.links(ep, l);
      for (uint32_t i = 1; i <= ln[0]; ++i) {
        uint32_t id = ln[i];
        if (id == slot) continue;
        float d = dist(id);
        if (d < epd) {
          epd = d;
          ep = id;
          changed = true;
        }
      }
    }
  }
  std::vector<VecCand> nb;
  for (int l = std::min(level, max_level); l >= 0; --l) {
    BuildSearch(ix, *s, dist, ep, l, ix.opt.ef_construction, slot);
    nb.assign(s->top.begin(), s->top.end());
    // Binary codes find candidates with the asymmetric distance (float vector vs. signs) but
    // select among them on Hamming distance, the one distance defined between two codes.
    if (ix.opt.quantization == VectorQuantization::kBinary)
      for (VecCand& c : nb) c.dist = ix.PairDist(slot, c.slot);
    std::sort(nb.begin(), nb.end(), [](const VecCand& a, const VecCand& b) { return a.dist < b.dist; });
    if (!nb.empty()) ep = nb.front().slot;
    SelectNeighbors(ix, nb, M);
    uint32_t* mine = ix.links(slot, l);
    mine[0] = uint32_t(nb.size());
    for (size_t i = 0; i < nb.size(); ++i) mine[1 + i] = nb[i].slot;
    const uint32_t cap = l == 0 ? M0 : M;
    for (const VecCand& c : nb) {
      uint32_t* theirs = ix.links(c.slot, l);
      uint32_t n = theirs[0];
      bool present = false;
      for (uint32_t i = 1; i <= n; ++i) present |= theirs[i] == slot;
      if (present) continue;
      if (n < cap) {
        theirs[1 + n] = slot;
        theirs[0] = n + 1;
        continue;
      }
      // Full: re-select among the old neighbours plus the new node.
      s->tmp.clear();
      s->tmp.push_back({c.dist, slot});
      for (uint32_t i = 1; i <= n; ++i) s->tmp.push_back({ix.PairDist(c.slot, theirs[i]), theirs[i]});
      std::sort(s->tmp.begin(), s->tmp.end(),
                [](const VecCand& a, const VecCand& b) { return a.dist < b.dist; });
      SelectNeighbors(ix, s->tmp, cap);
      theirs[0] = uint32_t(s->tmp.size());
      for (size_t i = 0; i < s->tmp.size(); ++i) theirs[1 + i] = s->tmp[i].slot;
    }
  }
}

}  // namespace

void HnswGraph::Link(uint32_t slot, int level, const float* v) {
  if (entry == kNone) {
    entry = slot;
    max_level = level;
    return;
  }
  std::unique_ptr<VecScratch> s(Acquire());
  switch (opt.quantization) {
    case VectorQuantization::kNone:
      LinkWith(*this, s.get(), slot, level, [&](uint32_t id) { return Dist(v, id); });
      break;
    case VectorQuantization::kScalar:
      LinkWith(*this, s.get(), slot, level, [&](uint32_t id) { return PairDist(slot, id); });
      break;
    case VectorQuantization::kBinary: {
      std::vector<float>& c = s->centered;
      c.resize(dims);
      for (uint32_t i = 0; i < dims; ++i) c[i] = v[i] - center[i];
      const float* cp = c.data();
      LinkWith(*this, s.get(), slot, level, [&, cp](uint32_t id) {
        return -kern->masked_sum(cp, reinterpret_cast<const uint64_t*>(code(id)), dims);
      });
      break;
    }
  }
  Release(s.release());
  if (level > max_level) {
    entry = slot;
    max_level = level;
  }
}

Status HnswGraph::Insert(uint64_t label, const float* normalized) {
  uint32_t slot;
  int level;
  if (!free_slots.empty()) {
    // Reuse a removed slot with its old level (its upper lists are already allocated).
    slot = free_slots.back();
    free_slots.pop_back();
    level = levels[slot];
  } else {
    if (used >= 0xfffffff0u) return InvalidArgument("vector index is full (4 billion slots)");
    Grow(used + 1);
    slot = uint32_t(used++);
    level = RandomLevel();
    levels[slot] = uint8_t(level);
    link0(slot)[0] = 0;
    if (level > 0) {
      upper[slot].reset(new uint32_t[level * upper_stride]);  // NOLINT: owned by upper
      for (int l = 0; l < level; ++l) upper[slot][l * upper_stride] = 0;
    }
  }
  labels[slot] = label;
  free_flag[slot] = 0;
  label_map.Put(label, slot);
  if (!quantized()) {
    std::memcpy(vec(slot), normalized, dims * sizeof(float));
  } else {
    if (training()) {
      if (train_vecs.size() < used * dims) train_vecs.resize(used * dims);
      std::memcpy(train_vecs.data() + size_t(slot) * dims, normalized, dims * sizeof(float));
    }
    Encode(normalized, code(slot));
  }
  Link(slot, level, normalized);
  MaybeTrain();
  n_inserts.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

bool HnswGraph::Erase(uint64_t label) {
  uint32_t slot = label_map.Erase(label);
  if (slot == LabelMap::kNone) return false;
  free_flag[slot] = 1;
  free_slots.push_back(slot);
  n_removes.fetch_add(1, std::memory_order_relaxed);
  return true;
}

size_t HnswGraph::MemoryBytesLocked() const {
  size_t upper_bytes = 0;
  for (size_t s = 0; s < used; ++s)
    if (levels[s] > 0) upper_bytes += levels[s] * upper_stride * sizeof(uint32_t);
  return capacity * slot_bytes +
         labels.capacity() * sizeof(uint64_t) + levels.capacity() + free_flag.capacity() +
         upper.capacity() * sizeof(void*) + upper_bytes + train_vecs.capacity() * sizeof(float) +
         free_slots.capacity() * sizeof(uint32_t) + label_map.MemoryBytes() +
         center.capacity() * sizeof(float) + sizeof(*this);
}

// ------------------------------------------------------------------------------- public

HnswIndex::HnswIndex(const HnswOptions& options)
    : options_(options), impl_(std::make_unique<Impl>(options)) {}
HnswIndex::~HnswIndex() = default;

Result<std::unique_ptr<HnswIndex>> HnswIndex::Create(const HnswOptions& options) {
  AMALGAM_RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<HnswIndex> ix(new HnswIndex(options));
  ix->Reserve(options.initial_capacity);
  return ix;
}

Status HnswIndex::Add(uint64_t label, const float* vector) {
  std::vector<float> v(options_.dims);
  AMALGAM_RETURN_IF_ERROR(impl_->PrepareVector(vector, v.data()));
  std::unique_lock<std::shared_mutex> g(impl_->mu);
  if (impl_->label_map.Find(label) != LabelMap::kNone)
    return Status(ErrorCode::kDuplicateKey, "vector label " + std::to_string(label) + " is already indexed");
  return impl_->Insert(label, v.data());
}

Status HnswIndex::Upsert(uint64_t label, const float* vector) {
  std::vector<float> v(options_.dims);
  AMALGAM_RETURN_IF_ERROR(impl_->PrepareVector(vector, v.data()));
  std::unique_lock<std::shared_mutex> g(impl_->mu);
  impl_->Erase(label);  // its slot is on top of the free list: the insert reuses it
  return impl_->Insert(label, v.data());
}

bool HnswIndex::Remove(uint64_t label) {
  std::unique_lock<std::shared_mutex> g(impl_->mu);
  return impl_->Erase(label);
}

bool HnswIndex::Contains(uint64_t label) const {
  std::shared_lock<std::shared_mutex> g(impl_->mu);
  return impl_->label_map.Find(label) != LabelMap::kNone;
}

bool HnswIndex::GetVector(uint64_t label, float* out) const {
  std::shared_ptr<const FullVectorSource> source;
  {
    std::shared_lock<std::shared_mutex> g(impl_->mu);
    uint32_t s = impl_->label_map.Find(label);
    if (s == LabelMap::kNone) return false;
    if (!impl_->quantized()) {
      std::memcpy(out, impl_->vec(s), options_.dims * sizeof(float));
      return true;
    }
    source = impl_->source;
  }
  uint8_t found = 0;
  if (!source || !source->Fetch(std::span<const uint64_t>(&label, 1), out, &found).ok() || !found) return false;
  return impl_->PrepareVector(out, out).ok();
}

void HnswIndex::SetFullVectorSource(std::shared_ptr<const FullVectorSource> source) {
  std::unique_lock<std::shared_mutex> g(impl_->mu);
  impl_->source = std::move(source);
}

void HnswIndex::Reserve(size_t slots) {
  std::unique_lock<std::shared_mutex> g(impl_->mu);
  if (slots > impl_->capacity) {
    impl_->Grow(slots, /*exact=*/true);  // no doubling slack when asked explicitly
  }
  impl_->label_map.Reserve(slots);
}

size_t HnswIndex::Size() const {
  std::shared_lock<std::shared_mutex> g(impl_->mu);
  return impl_->live();
}

size_t HnswIndex::MemoryBytes() const { return Stats().total_bytes; }

HnswStats HnswIndex::Stats() const {
  std::shared_lock<std::shared_mutex> g(impl_->mu);
  const Impl& ix = *impl_;
  HnswStats st;
  st.live_vectors = ix.live();
  st.deleted_slots = ix.free_slots.size();
  st.capacity_slots = ix.capacity;
  st.code_bytes = ix.capacity * ix.code_bytes;
  st.full_vector_bytes = ix.quantized() ? ix.train_vecs.capacity() * sizeof(float) : ix.capacity * ix.dims * sizeof(float);
  st.label_map_bytes = ix.label_map.MemoryBytes();
  st.total_bytes = ix.MemoryBytesLocked();
  {
    std::lock_guard<std::mutex> pg(ix.pool_mu);
    for (const auto& s : ix.pool)
      st.total_bytes += s->visited.capacity() * 2 + s->allowed.capacity() * 2 +
                        (s->cand.capacity() + s->top.capacity() + s->tmp.capacity()) * sizeof(VecCand);
  }
  st.graph_bytes = st.total_bytes - st.code_bytes - st.full_vector_bytes - st.label_map_bytes;
  st.max_level = ix.max_level;
  st.inserts = ix.n_inserts.load();
  st.removes = ix.n_removes.load();
  st.searches = ix.n_searches.load();
  return st;
}

void HnswIndex::set_applied_sequence(uint64_t seq) {
  std::unique_lock<std::shared_mutex> g(impl_->mu);
  impl_->applied_seq = seq;
}

uint64_t HnswIndex::applied_sequence() const {
  std::shared_lock<std::shared_mutex> g(impl_->mu);
  return impl_->applied_seq;
}

std::string_view HnswIndex::ActiveKernelName() { return vecdist::Active().name; }

}  // namespace amalgam::index
