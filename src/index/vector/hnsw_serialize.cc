// Persistence of HnswIndex: the format is documented in docs/vector-search.md ("Persisted
// format"). Everything read is checked against the bytes left and against the graph's own
// invariants, so corrupt input becomes kDataCorruption, never a crash.

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "index/vector/hnsw_impl.h"

namespace amalgam::index {

using Impl = HnswGraph;
namespace {

constexpr char kMagic[8] = {'A', 'M', 'V', 'H', 'N', 'S', 'W', '1'};
// Version 2: quantized indexes keep codes only (plus the quantizer's training sample while it
// is being fitted); version 1 (still read) kept every float32 vector.
constexpr uint32_t kFormatVersion = 2;

uint64_t Checksum(const char* p, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < n; ++i) h = (h ^ uint8_t(p[i])) * 0x100000001b3ull;
  h ^= h >> 32;
  return h * 0xd6e8feb86659fd93ull;
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  template <class T>
  void Put(T v) {
    out_->append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void Bytes(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <class T>
  bool Get(T* v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Bytes(void* p, size_t n) {
    if (n > in_.size() - pos_) return false;
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t left() const { return in_.size() - pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

Status Corrupt(const std::string& what) {
  return Status(ErrorCode::kDataCorruption, "vector index image is corrupt: " + what);
}

}  // namespace

std::string HnswIndex::Serialize() const {
  std::shared_lock<std::shared_mutex> g(impl_->mu);
  const Impl& ix = *impl_;
  std::string out;
  size_t upper_words = 0;
  for (size_t s = 0; s < ix.used; ++s) upper_words += ix.levels[s] * ix.upper_stride;
  out.reserve(128 + ix.used * (8 + 2 + ix.payload_bytes + ix.link0_stride * 4) + upper_words * 4 +
              ix.center.size() * 4 + ix.train_vecs.size() * 4);
  Writer w(&out);
  w.Bytes(kMagic, 8);
  w.Put<uint32_t>(kFormatVersion);
  const HnswOptions& o = ix.opt;
  w.Put<uint32_t>(o.dims);
  w.Put<uint8_t>(uint8_t(o.metric));
  w.Put<uint8_t>(uint8_t(o.quantization));
  w.Put<uint16_t>(0);
  w.Put<uint32_t>(o.max_edges);
  w.Put<uint32_t>(o.ef_construction);
  w.Put<uint32_t>(o.rescore_multiplier);
  w.Put<uint64_t>(o.seed);
  w.Put<uint64_t>(ix.applied_seq);
  w.Put<uint64_t>(ix.rng_state);
  w.Put<uint64_t>(ix.used);
  w.Put<uint32_t>(ix.entry);
  w.Put<int32_t>(ix.max_level);
  w.Put<float>(ix.scale);
  w.Put<uint32_t>(ix.trained);
  const bool has_train = ix.training() && ix.used > 0;
  w.Put<uint32_t>(has_train ? 1 : 0);  // flags: bit 0 = the training sample follows the codes
  if (o.quantization == VectorQuantization::kBinary) w.Bytes(ix.center.data(), ix.dims * 4);
  w.Bytes(ix.labels.data(), ix.used * 8);
  w.Bytes(ix.levels.data(), ix.used);
  w.Bytes(ix.free_flag.data(), ix.used);
  // The format keeps all payloads (vectors or codes), then all layer-0 lists (the slab
  // interleaves them in memory).
  for (uint32_t s = 0; s < ix.used; ++s) w.Bytes(ix.payload(s), ix.payload_bytes);
  if (has_train) w.Bytes(ix.train_vecs.data(), ix.used * ix.dims * 4);
  for (uint32_t s = 0; s < ix.used; ++s) w.Bytes(ix.link0(s), ix.link0_stride * 4);
  for (size_t s = 0; s < ix.used; ++s)
    if (ix.levels[s] > 0) w.Bytes(ix.upper[s].get(), ix.levels[s] * ix.upper_stride * 4);
  w.Put<uint64_t>(Checksum(out.data(), out.size()));
  return out;
}

Result<std::unique_ptr<HnswIndex>> HnswIndex::Deserialize(std::string_view bytes) {
  if (bytes.size() < 8 + 8) return Corrupt("too short (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) return Corrupt("bad magic");
  uint64_t stored_sum;
  std::memcpy(&stored_sum, bytes.data() + bytes.size() - 8, 8);
  if (Checksum(bytes.data(), bytes.size() - 8) != stored_sum) return Corrupt("checksum mismatch");
  Reader r(bytes.substr(8, bytes.size() - 16));
  uint32_t version;
  if (!r.Get(&version)) return Corrupt("truncated header");
  if (version != kFormatVersion && version != 1) return Corrupt("unknown format version " + std::to_string(version));
  HnswOptions o;
  uint8_t metric, quant;
  uint16_t reserved;
  if (!r.Get(&o.dims) || !r.Get(&metric) || !r.Get(&quant) || !r.Get(&reserved) || !r.Get(&o.max_edges) ||
      !r.Get(&o.ef_construction) || !r.Get(&o.rescore_multiplier) || !r.Get(&o.seed))
    return Corrupt("truncated options");
  o.metric = VectorMetric(metric);
  o.quantization = VectorQuantization(quant);
  o.initial_capacity = 0;
  if (Status st = o.Validate(); !st.ok()) return Corrupt("bad options: " + std::string(st.message()));
  std::unique_ptr<HnswIndex> index(new HnswIndex(o));
  Impl& ix = *index->impl_;
  uint64_t used;
  if (!r.Get(&ix.applied_seq) || !r.Get(&ix.rng_state) || !r.Get(&used) || !r.Get(&ix.entry) ||
      !r.Get(&ix.max_level) || !r.Get(&ix.scale) || !r.Get(&ix.trained))
    return Corrupt("truncated header");
  uint32_t flags = 0;
  if (version >= 2 && !r.Get(&flags)) return Corrupt("truncated header");
  if (flags > 1 || (flags != 0) != (ix.training() && used > 0)) return Corrupt("bad flags");
  // Version 1 stored every float32 vector and, separately, the codes.
  const size_t v1_vec = version == 1 ? size_t(ix.dims) * 4 : 0;
  const size_t train_bytes = flags ? size_t(ix.dims) * 4 : 0;
  const size_t stored_payload = version == 1 ? ix.code_bytes : ix.payload_bytes;
  const size_t per_slot = 8 + 2 + v1_vec + stored_payload + train_bytes + ix.link0_stride * 4;
  if (used > r.left() / per_slot || used >= Impl::kNone) return Corrupt("slot count exceeds the image");
  if (o.quantization == VectorQuantization::kBinary && !r.Bytes(ix.center.data(), ix.dims * 4))
    return Corrupt("truncated quantizer");
  ix.Grow(used, /*exact=*/true);
  ix.used = used;
  bool ok = r.Bytes(ix.labels.data(), used * 8) && r.Bytes(ix.levels.data(), used) &&
            r.Bytes(ix.free_flag.data(), used);
  if (version == 1) {
    // Vectors then codes. A quantized index keeps its float32 vectors only as the training
    // sample of a quantizer still being fitted.
    const bool keep_train = ix.training();
    if (keep_train) ix.train_vecs.resize(used * ix.dims);
    std::vector<float> skip(ix.dims);
    for (uint32_t s = 0; ok && s < used; ++s) {
      if (!ix.quantized()) {
        ok = r.Bytes(ix.vec(s), ix.dims * 4);
      } else if (keep_train) {
        ok = r.Bytes(ix.train_vecs.data() + size_t(s) * ix.dims, ix.dims * 4);
      } else {
        ok = r.Bytes(skip.data(), ix.dims * 4);
      }
    }
    for (uint32_t s = 0; ok && s < used && ix.quantized(); ++s) ok = r.Bytes(ix.code(s), ix.code_bytes);
  } else {
    for (uint32_t s = 0; ok && s < used; ++s) ok = r.Bytes(ix.payload(s), ix.payload_bytes);
    if (ok && flags) {
      ix.train_vecs.resize(used * ix.dims);
      ok = r.Bytes(ix.train_vecs.data(), used * ix.dims * 4);
    }
  }
  for (uint32_t s = 0; ok && s < used; ++s) ok = r.Bytes(ix.link0(s), ix.link0_stride * 4);
  if (!ok) return Corrupt("truncated slot arrays");
  for (uint32_t s = 0; s < used; ++s) {
    int level = ix.levels[s];
    if (level > Impl::kMaxLevel) return Corrupt("slot " + std::to_string(s) + " has level " + std::to_string(level));
    if (level > 0) {
      ix.upper[s].reset(new uint32_t[level * ix.upper_stride]);  // NOLINT: owned by upper
      if (!r.Bytes(ix.upper[s].get(), level * ix.upper_stride * 4)) return Corrupt("truncated upper layers");
    }
    for (int l = 0; l <= level; ++l) {
      const uint32_t* ln = ix.links(s, l);
      uint32_t cap = l == 0 ? ix.M0 : ix.M;
      if (ln[0] > cap) return Corrupt("slot " + std::to_string(s) + " has too many neighbours");
      for (uint32_t i = 1; i <= ln[0]; ++i) {
        // A neighbour must exist and reach this layer, or search would read past its lists.
        if (ln[i] >= used || ix.levels[ln[i]] < l)
          return Corrupt("slot " + std::to_string(s) + " links to an invalid neighbour");
      }
    }
    if (ix.free_flag[s] > 1) return Corrupt("bad free flag");
    if (ix.free_flag[s]) {
      ix.free_slots.push_back(s);
    } else {
      if (ix.label_map.Find(ix.labels[s]) != LabelMap::kNone) return Corrupt("duplicate label");
      ix.label_map.Put(ix.labels[s], s);
    }
  }
  if (r.left() != 0) return Corrupt(std::to_string(r.left()) + " trailing bytes");
  if (used == 0) {
    if (ix.entry != Impl::kNone || ix.max_level != -1) return Corrupt("entry point in an empty index");
  } else if (ix.entry >= used || ix.max_level != ix.levels[ix.entry]) {
    return Corrupt("bad entry point");
  }
  if (ix.trained > used) return Corrupt("bad quantizer sample size");
  return index;
}

Status HnswIndex::SaveToFile(const std::string& path) const {
  std::string bytes = Serialize();
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return IOError("cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = ok && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    return IOError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return IOError("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  return Status::OK();
}

Result<std::unique_ptr<HnswIndex>> HnswIndex::LoadFromFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return IOError("cannot open " + path + ": " + std::strerror(errno));
  std::string bytes;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) bytes.append(buf, n);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) return IOError("cannot read " + path);
  return Deserialize(bytes);
}

}  // namespace amalgam::index
