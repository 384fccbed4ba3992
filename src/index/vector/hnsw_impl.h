#pragma once
// HnswGraph: the data layout shared by hnsw_index.cc (graph, search) and
// hnsw_serialize.cc (persistence). Internal: include only from src/index/vector/*.cc.
//
// Slots are the unit of storage: slot i holds one vector in contiguous arrays
//   slab[i * slot_bytes ..)                layer-0 neighbours (uint32 count, then M0 ids), then
//                                          the payload at payload_off: the float32 vector
//                                          (normalized for cosine) without quantization, else
//                                          the int8 code or packed bits. As in hnswlib, a node
//                                          whose distance was just computed has its list on the
//                                          adjacent cache lines when expanded
//   upper[i]                               layers 1..level, each count + M ids (null at level 0)
//   train_vecs[i * dims ..)                quantized only, while the quantizer is being fitted
//                                          (trained < kTrainUntil): the float32 vectors it is
//                                          fitted on and re-encodes from; freed once fitted
//   labels[i], levels[i], free[i]
// A quantized index never holds the other float32 vectors: construction and traversal use the
// codes; re-scoring and exact search read full precision through a FullVectorSource.
// A removed slot keeps its links (searches traverse it, never return it) until an insert
// reuses it with its old level.

#include <atomic>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "index/vector/distance.h"
#include "index/vector/hnsw_index.h"
#include "index/vector/label_map.h"

namespace amalgam::index {

// Prefetches the first cache lines at p (a vector or code about to be read); the hardware
// streamer fetches the rest once the reads start. Too many outstanding prefetches stall on the
// line-fill buffers, hence the cap.
extern size_t g_prefetch_bytes;
inline void PrefetchBytes(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  size_t n = bytes < g_prefetch_bytes ? bytes : g_prefetch_bytes;
  for (size_t off = 0; off < n; off += 64) __builtin_prefetch(c + off);
}

struct VecCand {
  float dist;
  uint32_t slot;
};

// Per-search working memory, pooled so a search allocates nothing once warmed up.
struct VecScratch {
  std::vector<uint16_t> visited;
  uint16_t visit_epoch = 0;
  std::vector<uint16_t> allowed;
  uint16_t allow_epoch = 0;
  std::vector<VecCand> cand;  // min-heap (by dist) of nodes to expand
  std::vector<VecCand> top;   // max-heap of the best accepted nodes
  std::vector<uint32_t> batch;
  std::vector<float> query;   // normalized query
  std::vector<int8_t> qcode;
  std::vector<uint64_t> qbits;
  std::vector<float> qcentered;
  std::vector<VecCand> tmp;
  // Re-scoring: candidate labels, their fetched vectors and found flags.
  std::vector<uint64_t> rlabels;
  std::vector<float> rvecs;
  std::vector<uint8_t> rfound;
  std::vector<float> centered;  // binary construction: the new vector minus the centre

  // Starts a new visit generation over `slots` slots.
  void NewVisit(size_t slots);
  void NewAllow(size_t slots);
};

class HnswGraph {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;
  static constexpr int kMaxLevel = 30;
  static constexpr uint32_t kTrainUntil = HnswIndex::kTrainUntil;  // quantizer sample size

  explicit HnswGraph(const HnswOptions& o);

  // --- configuration
  HnswOptions opt;
  const vecdist::Kernels* kern;
  uint32_t dims, M, M0;
  size_t link0_stride;   // 1 + M0 uint32
  size_t payload_off;    // link0_stride * 4 (rounded up to 8 for binary codes)
  size_t payload_bytes;  // dims * 4 without quantization, else code_bytes
  size_t slot_bytes;     // payload_off + payload_bytes (a multiple of 8 for binary codes)
  size_t upper_stride;   // 1 + M uint32 per upper layer
  size_t code_bytes = 0; // per slot
  size_t code_words = 0; // binary: 64-bit words per slot
  double level_mult;

  // --- slot storage (guarded by mu)
  size_t capacity = 0;
  size_t used = 0;  // slots handed out so far (live + free)
  struct FreeDeleter {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, FreeDeleter> slab;  // capacity * slot_bytes, malloc'ed
  std::vector<uint64_t> labels;
  std::vector<uint8_t> levels;
  std::vector<uint8_t> free_flag;
  std::vector<std::unique_ptr<uint32_t[]>> upper;
  std::vector<float> train_vecs;  // see the layout above
  std::shared_ptr<const FullVectorSource> source;  // guarded by mu
  std::vector<uint32_t> free_slots;
  LabelMap label_map;
  uint32_t entry = kNone;
  int max_level = -1;
  uint64_t rng_state;
  uint64_t applied_seq = 0;

  // --- quantizer (scalar: code = round(x / scale); binary: bit = x > center[d])
  float scale = 0;
  uint32_t trained = 0;  // vectors the quantizer was last fitted on
  std::vector<float> center;
  // Binary codes are searched with the asymmetric distance (float query vs. signs) unless this
  // is set (symmetric Hamming; kept for measurements, see docs/vector-search.md).
  bool binary_hamming = false;

  mutable std::shared_mutex mu;
  mutable std::atomic<uint64_t> n_inserts{0}, n_removes{0}, n_searches{0};
  mutable std::mutex pool_mu;
  mutable std::vector<std::unique_ptr<VecScratch>> pool;

  // --- helpers
  const uint32_t* link0(uint32_t s) const {
    return reinterpret_cast<const uint32_t*>(slab.get() + size_t(s) * slot_bytes);
  }
  uint32_t* link0(uint32_t s) { return reinterpret_cast<uint32_t*>(slab.get() + size_t(s) * slot_bytes); }
  const char* payload(uint32_t s) const { return slab.get() + size_t(s) * slot_bytes + payload_off; }
  char* payload(uint32_t s) { return slab.get() + size_t(s) * slot_bytes + payload_off; }
  // The float32 vector: only without quantization.
  const float* vec(uint32_t s) const { return reinterpret_cast<const float*>(payload(s)); }
  float* vec(uint32_t s) { return reinterpret_cast<float*>(payload(s)); }
  // The code: only with quantization.
  const uint8_t* code(uint32_t s) const { return reinterpret_cast<const uint8_t*>(payload(s)); }
  uint8_t* code(uint32_t s) { return reinterpret_cast<uint8_t*>(payload(s)); }
  bool quantized() const { return opt.quantization != VectorQuantization::kNone; }
  bool training() const { return quantized() && trained < kTrainUntil; }
  uint32_t* links(uint32_t s, int level) {
    return level == 0 ? link0(s) : upper[s].get() + (level - 1) * upper_stride;
  }
  const uint32_t* links(uint32_t s, int level) const {
    return level == 0 ? link0(s) : upper[s].get() + (level - 1) * upper_stride;
  }
  size_t live() const { return label_map.size(); }
  bool has_free() const { return !free_slots.empty(); }

  // Full-precision distance between stored slot vectors / query and slot.
  float Dist(const float* q, uint32_t s) const {
    return opt.metric == VectorMetric::kEuclidean ? kern->l2sq(q, vec(s), dims)
                                                  : 1.0f - kern->dot(q, vec(s), dims);
  }
  float ExternalDistance(float internal) const;
  // Construction distance between two stored slots: full precision without quantization, int8
  // (L2 or negated dot) for scalar codes, Hamming for binary codes.
  float PairDist(uint32_t a, uint32_t b) const;
  // Distance from the prepared (normalized) query to a slot on its code (quantized only);
  // EncodeQuery(q, s) first.
  float CodeDist(const VecScratch& s, uint32_t slot) const;
  void Grow(size_t min_capacity, bool exact = false);
  int RandomLevel();
  Status PrepareVector(const float* in, float* out) const;  // checks, normalizes
  void Encode(const float* v, uint8_t* code) const;
  void MaybeTrain();
  void EncodeQuery(const float* q, VecScratch& s) const;

  Status Insert(uint64_t label, const float* normalized);  // REQUIRES: exclusive mu
  bool Erase(uint64_t label);                             // REQUIRES: exclusive mu
  // `v`: the slot's prepared float32 vector (binary construction searches with it).
  void Link(uint32_t slot, int level, const float* v);

  VecScratch* Acquire() const;
  void Release(VecScratch* s) const;

  size_t MemoryBytesLocked() const;
};

}  // namespace amalgam::index
