// VectorIndexes: definitions, builds, maintenance from the change log, snapshots. Searches are in
// vector_search.cc. Formats: docs/vector-search.md, "Engine and MongoDB face".
#include "engine/vector_indexes.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <set>

#include "bson/builder.h"
#include "bson/validate.h"
#include "common/logging.h"
#include "engine/engine.h"
#include "engine/vector_live.h"
#include "index/index_entry.h"
#include "storage/key_codec.h"

namespace amalgam::engine {
namespace {

constexpr std::string_view kDefPrefix = "vx";  // meta: "vx" + [cid] + name -> definition record
constexpr size_t kChunkBytes = 4u << 20;        // snapshot chunk size in the vectors CF
constexpr size_t kApplyBatch = 1024;            // change-log entries per catch-up step
constexpr uint32_t kSnapshotMagic = 0x31535641;  // "AVS1"

std::string DefKey(uint64_t cid, std::string_view name) {
  std::string k(kDefPrefix);
  storage::AppendUint64BE(&k, cid);
  k.append(name);
  return k;
}

std::string UidPrefix(uint64_t uid) {
  std::string k;
  storage::AppendUint64BE(&k, uid);
  return k;
}
std::string HeaderKey(uint64_t uid) { return UidPrefix(uid) + "h"; }
std::string ChunkKey(uint64_t uid, uint64_t gen, uint32_t chunk) {
  std::string k = UidPrefix(uid) + "c";
  storage::AppendUint64BE(&k, gen);
  k.push_back(static_cast<char>(chunk >> 24));
  k.push_back(static_cast<char>(chunk >> 16));
  k.push_back(static_cast<char>(chunk >> 8));
  k.push_back(static_cast<char>(chunk));
  return k;
}
std::string GenPrefix(uint64_t uid, uint64_t gen) {
  std::string k = UidPrefix(uid) + "c";
  storage::AppendUint64BE(&k, gen);
  return k;
}

std::string RandomHex(size_t bytes, uint64_t* first8) {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  std::string out;
  uint64_t w = 0;
  for (size_t i = 0; i < bytes; ++i) {
    if (i % 8 == 0) w = rng();
    uint8_t b = static_cast<uint8_t>(w >> (8 * (i % 8)));
    if (i < 8 && first8) *first8 = (*first8 << 8) | b;
    static const char* kHex = "0123456789abcdef";
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::optional<bson::DocView> ParseBson(const std::string& bytes) {
  auto v = bson::ValidateDocument(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!v.ok()) return std::nullopt;
  return v.value();
}

// ---- snapshot encoding -----------------------------------------------------------------------

void PutU32(std::string* s, uint32_t v) { s->append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string* s, uint64_t v) { s->append(reinterpret_cast<const char*>(&v), 8); }

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool U32(uint32_t* v) { return Raw(v, 4); }
  bool U64(uint64_t* v) { return Raw(v, 8); }
  bool Bytes(size_t n, std::string_view* out) {
    if (b_.size() - pos_ < n) return false;
    *out = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  bool Raw(void* v, size_t n) {
    if (b_.size() - pos_ < n) return false;
    std::memcpy(v, b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
};

std::string EncodeSnapshot(const LiveVectorIndex& ix, uint64_t applied) {
  std::string out;
  PutU32(&out, kSnapshotMagic);
  PutU64(&out, applied);
  std::shared_lock<std::shared_mutex> lock(ix.labels_mu);
  PutU64(&out, ix.next_label);
  PutU32(&out, static_cast<uint32_t>(ix.graphs.size()));
  for (const auto& g : ix.graphs) {
    std::string bytes = g->Serialize();
    PutU64(&out, bytes.size());
    out += bytes;
  }
  PutU64(&out, ix.entries.size());
  for (const auto& [label, e] : ix.entries) {
    PutU64(&out, label);
    PutU32(&out, static_cast<uint32_t>(e.id.size()));
    out += e.id;
    PutU32(&out, static_cast<uint32_t>(e.filter.bytes().size()));
    out += e.filter.bytes();
  }
  return out;
}

Status Corrupt(const std::string& what) {
  return Status(ErrorCode::kDataCorruption, "vector index snapshot: " + what);
}

// Fills ix (graphs, labels) from a snapshot; returns the sequence it covers.
Result<uint64_t> DecodeSnapshot(std::string_view bytes, LiveVectorIndex& ix) {
  Reader r(bytes);
  uint32_t magic = 0, nfields = 0;
  uint64_t applied = 0, next_label = 0, n = 0;
  if (!r.U32(&magic) || magic != kSnapshotMagic) return Corrupt("bad magic");
  if (!r.U64(&applied) || !r.U64(&next_label) || !r.U32(&nfields)) return Corrupt("truncated header");
  if (nfields != ix.def.vectors.size()) return Corrupt("field count differs from the definition");
  std::vector<std::unique_ptr<index::HnswIndex>> graphs;
  for (uint32_t i = 0; i < nfields; ++i) {
    std::string_view g;
    if (!r.U64(&n) || !r.Bytes(n, &g)) return Corrupt("truncated graph");
    AMALGAM_ASSIGN_OR_RETURN(auto graph, index::HnswIndex::Deserialize(g));
    const VectorFieldDef& f = ix.def.vectors[i];
    if (graph->options().dims != f.dims || graph->options().metric != f.metric ||
        graph->options().quantization != f.quantization) {
      return Corrupt("graph options differ from the definition");
    }
    if (f.quantization != index::VectorQuantization::kNone && ix.store) {
      graph->SetFullVectorSource(std::make_shared<DocumentVectorSource>(*ix.store, nullptr, ix, f));
    }
    graphs.push_back(std::move(graph));
  }
  if (!r.U64(&n)) return Corrupt("truncated label table");
  std::unordered_map<std::string, uint64_t> label_of;
  std::unordered_map<uint64_t, VectorLabelEntry> entries;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t label = 0;
    uint32_t len = 0;
    std::string_view id, filter;
    if (!r.U64(&label) || !r.U32(&len) || !r.Bytes(len, &id) || !r.U32(&len) || !r.Bytes(len, &filter)) {
      return Corrupt("truncated label entry");
    }
    auto doc = bson::ValidateDocument(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(filter.data()), filter.size()));
    if (!doc.ok() || label >= next_label) return Corrupt("bad label entry");
    label_of.emplace(std::string(id), label);
    entries.emplace(label, VectorLabelEntry{std::string(id), bson::Document(doc.value())});
  }
  if (!r.done()) return Corrupt("trailing bytes");
  std::unique_lock<std::shared_mutex> lock(ix.labels_mu);
  ix.graphs = std::move(graphs);
  ix.label_of = std::move(label_of);
  ix.entries = std::move(entries);
  ix.next_label = next_label;
  ix.postings.clear();
  ix.unindexed.clear();
  for (const auto& [label, e] : ix.entries) UpdatePostings(ix, label, e.filter.view(), true);
  return applied;
}

bson::Document DefinitionRecord(const LiveVectorIndex& ix) {
  bson::Builder b;
  b.AppendInt32("v", 1)
      .AppendString("id", ix.id_hex)
      .AppendInt64("uid", static_cast<int64_t>(ix.uid))
      .AppendString("name", ix.def.name)
      .AppendDocument("definition", ix.def.definition.view())
      .AppendDate("created", ix.created_millis)
      .AppendInt32("version", ix.version);
  return std::move(b).Finish();
}

// ---- applying documents ----------------------------------------------------------------------

bson::Document FilterValues(const LiveVectorIndex& ix, bson::DocView doc) {
  if (ix.filter_tops.empty()) return bson::Document();
  bson::Builder b;
  for (const bson::Element& e : doc) {
    if (std::find(ix.filter_tops.begin(), ix.filter_tops.end(), e.name) != ix.filter_tops.end()) {
      b.AppendValue(e.name, e.value);
    }
  }
  return std::move(b).Finish();
}

void ApplyDocument(LiveVectorIndex& ix, const std::string& id, bson::DocView doc) {
  uint64_t label;
  {
    bson::Document filter = FilterValues(ix, doc);
    std::unique_lock<std::shared_mutex> lock(ix.labels_mu);
    auto [it, inserted] = ix.label_of.emplace(id, ix.next_label);
    label = it->second;
    if (inserted) {
      ++ix.next_label;
      UpdatePostings(ix, label, filter.view(), true);
      ix.entries.emplace(label, VectorLabelEntry{id, std::move(filter)});
    } else {
      VectorLabelEntry& e = ix.entries[label];
      UpdatePostings(ix, label, e.filter.view(), false);
      UpdatePostings(ix, label, filter.view(), true);
      e.filter = std::move(filter);
    }
  }
  for (size_t i = 0; i < ix.def.vectors.size(); ++i) {
    const VectorFieldDef& f = ix.def.vectors[i];
    std::optional<std::vector<float>> v = ExtractVector(doc, f.path, f.dims, f.metric);
    if (v && ix.graphs[i]->Upsert(label, v->data()).ok()) continue;
    ix.graphs[i]->Remove(label);  // no (valid) vector: not searchable on this field
  }
}

void ApplyDelete(LiveVectorIndex& ix, const std::string& id) {
  uint64_t label;
  {
    std::shared_lock<std::shared_mutex> lock(ix.labels_mu);
    auto it = ix.label_of.find(id);
    if (it == ix.label_of.end()) return;
    label = it->second;
  }
  for (auto& g : ix.graphs) g->Remove(label);
  std::unique_lock<std::shared_mutex> lock(ix.labels_mu);
  ix.label_of.erase(id);
  auto e = ix.entries.find(label);
  if (e != ix.entries.end()) {
    UpdatePostings(ix, label, e->second.filter.view(), false);
    ix.entries.erase(e);
  }
}

std::vector<std::string> FilterTops(const VectorIndexDef& def) {
  std::set<std::string> tops;
  for (const std::string& p : def.filter_paths) tops.insert(p.substr(0, p.find('.')));
  return {tops.begin(), tops.end()};
}

std::shared_ptr<LiveVectorIndex> MakeLive(uint64_t cid, VectorIndexDef def, storage::Store* store) {
  auto ix = std::make_shared<LiveVectorIndex>();
  ix->cid = cid;
  ix->store = store;
  ix->filter_tops = FilterTops(def);
  ix->def = std::move(def);
  return ix;
}

}  // namespace

Status ResetGraphs(LiveVectorIndex& ix) {
  std::vector<std::unique_ptr<index::HnswIndex>> graphs;
  for (const VectorFieldDef& f : ix.def.vectors) {
    index::HnswOptions o;
    o.dims = f.dims;
    o.metric = f.metric;
    o.quantization = f.quantization;
    o.max_edges = f.max_edges;
    o.ef_construction = f.num_edge_candidates;
    AMALGAM_ASSIGN_OR_RETURN(auto g, index::HnswIndex::Create(o));
    if (f.quantization != index::VectorQuantization::kNone && ix.store) {
      g->SetFullVectorSource(std::make_shared<DocumentVectorSource>(*ix.store, nullptr, ix, f));
    }
    graphs.push_back(std::move(g));
  }
  std::unique_lock<std::shared_mutex> lock(ix.labels_mu);
  ix.graphs = std::move(graphs);
  ix.label_of.clear();
  ix.entries.clear();
  ix.postings.clear();
  ix.unindexed.clear();
  ix.next_label = 1;
  return Status::OK();
}

Status DocumentVectorSource::Fetch(std::span<const uint64_t> labels, float* out, uint8_t* found) const {
  const std::string prefix = index::DocumentKey(ix_.cid, "");
  // The documents of every known label in one batched read; at[j] is keys[j]'s label index.
  std::vector<std::string> keys;
  std::vector<size_t> at;
  keys.reserve(labels.size());
  at.reserve(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    found[i] = 0;
    auto e = ix_.entries.find(labels[i]);
    if (e == ix_.entries.end()) continue;
    keys.push_back(prefix + e->second.id);
    at.push_back(i);
  }
  AMALGAM_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> docs,
                           store_.MultiGet(storage::Cf::kDocuments, keys, snapshot_));
  for (size_t j = 0; j < keys.size(); ++j) {
    const size_t i = at[j];
    std::optional<std::string>& bytes = docs[j];
    if (!bytes) continue;
    // Stored documents were validated when written (as every engine read assumes).
    bson::Document doc = bson::Document::FromValidatedBytes(std::move(*bytes));
    std::optional<std::vector<float>> v = ExtractVector(doc.view(), field_.path, field_.dims, field_.metric);
    if (!v) continue;
    std::memcpy(out + i * field_.dims, v->data(), size_t(field_.dims) * sizeof(float));
    found[i] = 1;
  }
  return Status::OK();
}

std::string PostingKey(std::string_view path, const bson::Value& v) {
  std::string k(path);
  k.push_back('\0');
  k += storage::EncodeValue(v).key;
  return k;
}

void UpdatePostings(LiveVectorIndex& ix, uint64_t label, bson::DocView filter, bool add) {
  auto touch = [&](std::unordered_map<std::string, std::unordered_set<uint64_t>>& map, const std::string& key) {
    if (add) {
      map[key].insert(label);
      return;
    }
    auto it = map.find(key);
    if (it == map.end()) return;
    it->second.erase(label);
    if (it->second.empty()) map.erase(it);
  };
  auto scalar = [](const bson::Value& v) {
    return v.type() != bson::BsonType::kDocument && v.type() != bson::BsonType::kArray;
  };
  for (const std::string& path : ix.def.filter_paths) {
    bson::DocView d = filter;
    std::string_view rest = path;
    bson::Value v;
    bool crossed_array = false;
    while (true) {
      size_t dot = rest.find('.');
      v = d.Get(rest.substr(0, dot));
      if (dot == std::string_view::npos) break;
      if (v.type() == bson::BsonType::kArray) {
        crossed_array = true;  // the matcher walks arrays along the path: always a candidate
        break;
      }
      if (v.type() != bson::BsonType::kDocument) {
        v = bson::Value();
        break;
      }
      d = v.AsDocument();
      rest = rest.substr(dot + 1);
    }
    if (crossed_array) {
      touch(ix.unindexed, path);
    } else if (v.type() == bson::BsonType::kArray) {
      for (const bson::Element& e : v.AsDocument()) {
        if (scalar(e.value)) touch(ix.postings, PostingKey(path, e.value));
      }
    } else if (!v.missing() && scalar(v)) {
      touch(ix.postings, PostingKey(path, v));
    }
  }
}

std::string_view VectorIndexStatusName(VectorIndexStatus s) {
  switch (s) {
    case VectorIndexStatus::kPending: return "PENDING";
    case VectorIndexStatus::kBuilding: return "BUILDING";
    case VectorIndexStatus::kReady: return "READY";
    case VectorIndexStatus::kFailed: return "FAILED";
  }
  return "FAILED";
}

VectorIndexes::VectorIndexes(Engine& engine, const VectorIndexesOptions& options)
    : engine_(engine), store_(engine.store()), options_(options) {}

VectorIndexes::~VectorIndexes() { Stop(); }

Result<std::unique_ptr<VectorIndexes>> VectorIndexes::Open(Engine& engine, const VectorIndexesOptions& options) {
  std::unique_ptr<VectorIndexes> v(new VectorIndexes(engine, options));
  AMALGAM_RETURN_IF_ERROR(v->Load());
  v->maintenance_ = std::thread([p = v.get()] { p->MaintenanceLoop(); });
  return v;
}

Status VectorIndexes::Load() {
  std::set<uint64_t> live_cids;
  for (const catalog::CollectionPtr& c : engine_.catalog().ListAll()) live_cids.insert(c->id);
  std::vector<LivePtr> to_build;
  auto it = store_.NewIterator(storage::Cf::kMeta, std::string(kDefPrefix), storage::PrefixSuccessor(kDefPrefix));
  std::vector<std::pair<std::string, uint64_t>> orphans;  // def key, uid
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string key(it->key()), value(it->value());
    if (key.size() < kDefPrefix.size() + 8) return Status(ErrorCode::kDataCorruption, "malformed vector index key");
    uint64_t cid = storage::ReadUint64BE(std::string_view(key).substr(kDefPrefix.size()));
    std::optional<bson::DocView> rec = ParseBson(value);
    if (!rec) return Status(ErrorCode::kDataCorruption, "unreadable vector index definition record");
    bson::Value name = rec->Get("name"), def = rec->Get("definition"), uid = rec->Get("uid"), id = rec->Get("id");
    if (name.type() != bson::BsonType::kString || def.type() != bson::BsonType::kDocument ||
        uid.type() != bson::BsonType::kInt64 || id.type() != bson::BsonType::kString) {
      return Status(ErrorCode::kDataCorruption, "malformed vector index definition record");
    }
    if (!live_cids.count(cid)) {
      orphans.emplace_back(key, static_cast<uint64_t>(uid.AsInt64()));
      continue;
    }
    AMALGAM_ASSIGN_OR_RETURN(VectorIndexDef d, ParseAtlasVectorDefinition(name.AsString(), def.AsDocument()));
    LivePtr ix = MakeLive(cid, std::move(d), &store_);
    ix->uid = static_cast<uint64_t>(uid.AsInt64());
    ix->id_hex = std::string(id.AsString());
    if (rec->Get("created").type() == bson::BsonType::kDate) ix->created_millis = rec->Get("created").AsDateMillis();
    if (rec->Get("version").type() == bson::BsonType::kInt32) ix->version = rec->Get("version").AsInt32();
    // The saved snapshot, if any and usable.
    Status loaded = Status(ErrorCode::kNoSuchKey, "no snapshot");
    auto header = store_.Get(storage::Cf::kVectors, HeaderKey(ix->uid));
    if (!header.ok()) return header.status();
    if (header.value()) {
      std::optional<bson::DocView> h = ParseBson(*header.value());
      std::string blob;
      uint64_t gen = 0, chunks = 0;
      if (!h || h->Get("gen").type() != bson::BsonType::kInt64 || h->Get("chunks").type() != bson::BsonType::kInt64) {
        loaded = Corrupt("bad header");
      } else {
        gen = static_cast<uint64_t>(h->Get("gen").AsInt64());
        chunks = static_cast<uint64_t>(h->Get("chunks").AsInt64());
        loaded = Status::OK();
        for (uint64_t c = 0; c < chunks && loaded.ok(); ++c) {
          auto chunk = store_.Get(storage::Cf::kVectors, ChunkKey(ix->uid, gen, static_cast<uint32_t>(c)));
          if (!chunk.ok()) return chunk.status();
          if (!chunk.value()) loaded = Corrupt("missing chunk");
          else blob += *chunk.value();
        }
      }
      if (loaded.ok()) {
        auto applied = DecodeSnapshot(blob, *ix);
        if (!applied.ok()) {
          loaded = applied.status();
        } else if (applied.value() < store_.ChangeLogTrimmedThrough()) {
          loaded = Corrupt("older than the retained change log");
        } else {
          ix->applied_seq = applied.value();
          ix->saved_seq = applied.value();
          ix->saved_gen = gen;
        }
      }
    }
    if (loaded.ok()) {
      ix->status = VectorIndexStatus::kReady;
      ix->progress = 100;
      ix->loaded_from_disk = true;
      AMALGAM_LOG(kInfo, "vector") << "loaded vector index " << ix->def.name << " (" << ix->entries.size()
                                   << " documents, through seq " << ix->applied_seq.load() << ")";
    } else {
      if (loaded.code() != ErrorCode::kNoSuchKey) {
        AMALGAM_LOG(kWarning, "vector") << "rebuilding vector index " << ix->def.name << ": " << loaded.ToString();
      }
      AMALGAM_RETURN_IF_ERROR(ResetGraphs(*ix));
      to_build.push_back(ix);
    }
    indexes_.push_back(ix);
  }
  AMALGAM_RETURN_IF_ERROR(it->status());
  it.reset();
  for (const auto& [key, uid] : orphans) {
    AMALGAM_LOG(kInfo, "vector") << "removing vector index data of a dropped collection";
    AMALGAM_RETURN_IF_ERROR(store_.DeleteRange(storage::Cf::kMeta, key, key + '\0'));
    AMALGAM_RETURN_IF_ERROR(store_.DeleteRange(storage::Cf::kVectors, UidPrefix(uid), UidPrefix(uid + 1)));
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const LivePtr& ix : to_build) StartBuild(ix);
  return Status::OK();
}

void VectorIndexes::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  std::vector<std::thread> builders;
  std::vector<LivePtr> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    builders.swap(builders_);
    all = indexes_;
  }
  for (std::thread& t : builders) t.join();
  for (const LivePtr& ix : all) {
    std::lock_guard<std::mutex> lock(ix->write_mu);
    if (ix->dropped || ix->status != VectorIndexStatus::kReady) continue;
    if (ix->saved_seq.load() == ix->applied_seq.load() && ix->saved_gen != 0) continue;
    Status s = SaveSnapshot(*ix);
    if (!s.ok()) AMALGAM_LOG(kWarning, "vector") << "saving vector index " << ix->def.name << ": " << s.ToString();
  }
}

VectorIndexes::LivePtr VectorIndexes::FindLive(uint64_t cid, std::string_view name) {
  for (const LivePtr& ix : indexes_) {
    if (ix->cid == cid && ix->def.name == name && !ix->dropped) return ix;
  }
  return nullptr;
}

VectorIndexInfo VectorIndexes::Describe(const LiveVectorIndex& ix) const {
  VectorIndexInfo info;
  info.id = ix.id_hex;
  info.name = ix.def.name;
  info.def = ix.def;
  info.status = ix.status.load();
  info.queryable = info.status == VectorIndexStatus::kReady;
  info.progress = ix.progress.load();
  info.created_millis = ix.created_millis;
  info.definition_version = ix.version;
  info.applied_seq = ix.applied_seq.load();
  info.builds = ix.builds.load();
  info.loaded_from_disk = ix.loaded_from_disk.load();
  info.saved_seq = ix.saved_seq.load();
  std::shared_lock<std::shared_mutex> lock(ix.labels_mu);
  info.documents = ix.entries.size();
  info.memory_bytes = ix.entries.size() * 64;
  for (const auto& [label, e] : ix.entries) info.memory_bytes += e.id.size() + e.filter.bytes().size();
  for (const auto& g : ix.graphs) {
    info.vectors += g->Size();
    info.memory_bytes += g->MemoryBytes();
  }
  if (info.status == VectorIndexStatus::kFailed) info.failure = "the index build failed; see the server log";
  return info;
}

Result<VectorIndexInfo> VectorIndexes::Create(std::string_view db, std::string_view coll, VectorIndexDef def) {
  catalog::CollectionPtr info = engine_.catalog().Find(db, coll);
  if (!info) {
    return Status(ErrorCode::kNamespaceNotFound,
                  "Collection '" + std::string(db) + "." + std::string(coll) + "' does not exist.");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status(ErrorCode::kShutdownInProgress, "the server is shutting down");
  if (FindLive(info->id, def.name)) {
    return Status(ErrorCode::kIndexAlreadyExists,
                  "Duplicate Index: an index named \"" + def.name + "\" already exists on " + info->ns());
  }
  LivePtr ix = MakeLive(info->id, std::move(def), &store_);
  ix->id_hex = RandomHex(12, &ix->uid);
  ix->created_millis = store_.clock().NowMillis();
  AMALGAM_RETURN_IF_ERROR(ResetGraphs(*ix));
  AMALGAM_RETURN_IF_ERROR(store_.PutRaw(storage::Cf::kMeta, DefKey(ix->cid, ix->def.name), DefinitionRecord(*ix).bytes()));
  indexes_.push_back(ix);
  StartBuild(ix);
  return Describe(*ix);
}

Result<VectorIndexInfo> VectorIndexes::Update(std::string_view db, std::string_view coll, VectorIndexDef def) {
  catalog::CollectionPtr info = engine_.catalog().Find(db, coll);
  if (!info) {
    return Status(ErrorCode::kNamespaceNotFound,
                  "Collection '" + std::string(db) + "." + std::string(coll) + "' does not exist.");
  }
  LivePtr old, ix;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return Status(ErrorCode::kShutdownInProgress, "the server is shutting down");
    old = FindLive(info->id, def.name);
    if (!old) return Status(ErrorCode::kIndexNotFound, "Search index '" + def.name + "' not found on " + info->ns());
    ix = MakeLive(info->id, std::move(def), &store_);
    ix->id_hex = old->id_hex;
    uint64_t uid = 0;
    RandomHex(8, &uid);
    ix->uid = uid;
    ix->version = old->version + 1;
    ix->created_millis = store_.clock().NowMillis();
    AMALGAM_RETURN_IF_ERROR(ResetGraphs(*ix));
    AMALGAM_RETURN_IF_ERROR(store_.PutRaw(storage::Cf::kMeta, DefKey(ix->cid, ix->def.name), DefinitionRecord(*ix).bytes()));
    old->dropped = true;
    std::replace(indexes_.begin(), indexes_.end(), old, ix);
    StartBuild(ix);
  }
  std::lock_guard<std::mutex> wl(old->write_mu);  // waits for its build or catch-up step to notice
  AMALGAM_RETURN_IF_ERROR(RemoveData(*old, false));
  return Describe(*ix);
}

Status VectorIndexes::Drop(std::string_view db, std::string_view coll, std::string_view name) {
  catalog::CollectionPtr info = engine_.catalog().Find(db, coll);
  if (!info) {
    return Status(ErrorCode::kNamespaceNotFound,
                  "Collection '" + std::string(db) + "." + std::string(coll) + "' does not exist.");
  }
  LivePtr ix;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ix = FindLive(info->id, name);
    if (!ix) return Status(ErrorCode::kIndexNotFound, "Search index '" + std::string(name) + "' not found on " + info->ns());
    ix->dropped = true;
    indexes_.erase(std::remove(indexes_.begin(), indexes_.end(), ix), indexes_.end());
  }
  std::lock_guard<std::mutex> wl(ix->write_mu);
  return RemoveData(*ix, true);
}

Status VectorIndexes::RemoveData(const LiveVectorIndex& ix, bool definition_too) {
  if (definition_too) {
    std::string key = DefKey(ix.cid, ix.def.name);
    AMALGAM_RETURN_IF_ERROR(store_.DeleteRange(storage::Cf::kMeta, key, key + '\0'));
  }
  return store_.DeleteRange(storage::Cf::kVectors, UidPrefix(ix.uid), UidPrefix(ix.uid + 1));
}

void VectorIndexes::Forget(const LivePtr& ix) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ix->dropped = true;
    indexes_.erase(std::remove(indexes_.begin(), indexes_.end(), ix), indexes_.end());
  }
  // Only this index's own key: the name may already belong to an index of a new collection with
  // another id.
  Status s = RemoveData(*ix, true);
  if (!s.ok()) AMALGAM_LOG(kWarning, "vector") << "removing vector index data: " << s.ToString();
}

std::vector<VectorIndexInfo> VectorIndexes::List(std::string_view db, std::string_view coll) {
  std::vector<VectorIndexInfo> out;
  catalog::CollectionPtr info = engine_.catalog().Find(db, coll);
  if (!info) return out;
  std::vector<LivePtr> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all = indexes_;
  }
  for (const LivePtr& ix : all) {
    if (ix->cid == info->id && !ix->dropped) out.push_back(Describe(*ix));
  }
  return out;
}

std::optional<VectorIndexDef> VectorIndexes::Definition(std::string_view db, std::string_view coll,
                                                       std::string_view name) {
  catalog::CollectionPtr info = engine_.catalog().Find(db, coll);
  if (!info) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  LivePtr ix = FindLive(info->id, name);
  if (!ix) return std::nullopt;
  return ix->def;
}

// REQUIRES: mu_ held.
void VectorIndexes::StartBuild(const LivePtr& ix) {
  ix->status = VectorIndexStatus::kPending;
  ix->progress = 0;
  builders_.emplace_back([this, ix] { BuildLoop(ix); });
}

void VectorIndexes::BuildLoop(const LivePtr& ix) {
  std::lock_guard<std::mutex> wl(ix->write_mu);
  auto stop = [&] {
    if (ix->dropped) return true;
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  };
  if (stop()) return;
  ix->status = VectorIndexStatus::kBuilding;
  ix->builds++;
  Status s = ResetGraphs(*ix);
  auto snapshot = store_.GetSnapshot();
  uint64_t start_seq = snapshot->visible_seq();
  std::string prefix = index::DocumentKey(ix->cid, "");
  uint64_t total = 0, done = 0;
  {
    auto it = store_.NewIterator(storage::Cf::kDocuments, prefix, storage::PrefixSuccessor(prefix), snapshot.get());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (++total % 4096 == 0 && stop()) return;
    }
    if (s.ok()) s = it->status();
  }
  auto it = store_.NewIterator(storage::Cf::kDocuments, prefix, storage::PrefixSuccessor(prefix), snapshot.get());
  for (it->SeekToFirst(); s.ok() && it->Valid(); it->Next()) {
    std::string_view value = it->value();
    auto doc = bson::ValidateDocument(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
    if (!doc.ok()) {
      s = doc.status();
      break;
    }
    ApplyDocument(*ix, std::string(it->key().substr(prefix.size())), doc.value());
    if (++done % 256 == 0) {
      ix->progress = total ? std::min(99.0, 100.0 * static_cast<double>(done) / static_cast<double>(total)) : 99.0;
      if (stop()) return;
    }
  }
  if (s.ok()) s = it->status();
  it.reset();
  if (!s.ok()) {
    AMALGAM_LOG(kWarning, "vector") << "vector index " << ix->def.name << " failed to build: " << s.ToString();
    ix->status = VectorIndexStatus::kFailed;
    return;
  }
  ix->applied_seq = start_seq;
  ix->progress = 100;
  ix->status = VectorIndexStatus::kReady;
  AMALGAM_LOG(kInfo, "vector") << "built vector index " << ix->def.name << " over " << done << " documents";
  s = SaveSnapshot(*ix);
  if (!s.ok()) AMALGAM_LOG(kWarning, "vector") << "saving vector index " << ix->def.name << ": " << s.ToString();
}

// REQUIRES: ix.write_mu held.
Status VectorIndexes::CatchUp(LiveVectorIndex& ix, size_t max_entries, bool* dropped) {
  uint64_t through = 0;
  auto changes = engine_.ReadChanges(ix.applied_seq.load(), max_entries, &through);
  if (!changes.ok()) return changes.status();
  for (const storage::ChangeEntry& e : changes.value()) {
    const storage::ChangeRecord& r = e.record;
    if (r.collection_id != ix.cid) continue;
    switch (r.op) {
      case storage::ChangeOp::kInsert:
      case storage::ChangeOp::kUpdate:
      case storage::ChangeOp::kReplace:
        if (r.post_image) {
          bson::DocView doc = r.post_image->view();
          ApplyDocument(ix, storage::EncodeValue(doc.Get("_id")).key, doc);
        }
        break;
      case storage::ChangeOp::kDelete:
        if (r.document_key) ApplyDelete(ix, storage::EncodeValue(r.document_key->view().Get("_id")).key);
        break;
      case storage::ChangeOp::kCommand:
        if (r.command && !r.command->view().Get("drop").missing()) {
          *dropped = true;
          return Status::OK();
        }
        break;
    }
    ++ix.changes_since_save;
  }
  ix.applied_seq = through;
  return Status::OK();
}

void VectorIndexes::MaintenanceLoop() {
  auto last_orphan_check = std::chrono::steady_clock::now();
  while (true) {
    std::vector<LivePtr> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      all = indexes_;
    }
    bool busy = false;
    uint64_t min_applied = UINT64_MAX;
    std::set<uint64_t> live_cids;
    auto now = std::chrono::steady_clock::now();
    bool check_orphans = now - last_orphan_check > std::chrono::seconds(5);
    if (check_orphans) {
      last_orphan_check = now;
      for (const catalog::CollectionPtr& c : engine_.catalog().ListAll()) live_cids.insert(c->id);
    }
    for (const LivePtr& ix : all) {
      if (ix->dropped || ix->status != VectorIndexStatus::kReady) continue;
      bool dropped = check_orphans && !live_cids.count(ix->cid);
      Status s;
      {
        std::lock_guard<std::mutex> wl(ix->write_mu);
        if (ix->dropped) continue;
        uint64_t before = ix->applied_seq.load();
        if (!dropped) s = CatchUp(*ix, kApplyBatch, &dropped);
        if (ix->applied_seq.load() != before) busy = true;
        if (s.code() == ErrorCode::kChangeStreamHistoryLost) {
          AMALGAM_LOG(kWarning, "vector") << "vector index " << ix->def.name << " fell behind the change log: rebuilding";
          std::lock_guard<std::mutex> lock(mu_);
          if (!stopping_) StartBuild(ix);
          continue;
        }
        if (!s.ok()) {
          AMALGAM_LOG(kWarning, "vector") << "vector index " << ix->def.name << ": " << s.ToString();
          continue;
        }
        bool due = ix->changes_since_save >= options_.save_every_changes ||
                   (ix->saved_seq.load() != ix->applied_seq.load() && now - ix->last_save > options_.save_interval);
        if (!dropped && due) {
          s = SaveSnapshot(*ix);
          if (!s.ok()) AMALGAM_LOG(kWarning, "vector") << "saving vector index " << ix->def.name << ": " << s.ToString();
        }
      }
      if (dropped) {
        Forget(ix);
        continue;
      }
      min_applied = std::min(min_applied, ix->applied_seq.load());
    }
    if (busy) continue;
    if (min_applied != UINT64_MAX) {
      store_.WaitForSeqAfter(min_applied, std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
    } else {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; });
    }
  }
}

// REQUIRES: ix.write_mu held.
Status VectorIndexes::SaveSnapshot(LiveVectorIndex& ix) {
  if (ix.dropped) return Status::OK();
  uint64_t applied = ix.applied_seq.load();
  std::string blob = EncodeSnapshot(ix, applied);
  uint64_t gen = ix.saved_gen + 1;
  uint32_t chunks = 0;
  for (size_t off = 0; off < blob.size() || chunks == 0; off += kChunkBytes) {
    std::string_view piece = std::string_view(blob).substr(off, kChunkBytes);
    AMALGAM_RETURN_IF_ERROR(store_.PutRaw(storage::Cf::kVectors, ChunkKey(ix.uid, gen, chunks++), piece));
    if (off + kChunkBytes >= blob.size()) break;
  }
  bson::Builder h;
  h.AppendInt32("v", 1)
      .AppendInt64("seq", static_cast<int64_t>(applied))
      .AppendInt64("gen", static_cast<int64_t>(gen))
      .AppendInt64("chunks", chunks)
      .AppendInt64("bytes", static_cast<int64_t>(blob.size()));
  AMALGAM_RETURN_IF_ERROR(store_.PutRaw(storage::Cf::kVectors, HeaderKey(ix.uid), std::move(h).Finish().bytes()));
  if (ix.saved_gen != 0) {
    AMALGAM_RETURN_IF_ERROR(store_.DeleteRange(storage::Cf::kVectors, GenPrefix(ix.uid, ix.saved_gen),
                                               GenPrefix(ix.uid, ix.saved_gen + 1)));
  }
  ix.saved_gen = gen;
  ix.saved_seq = applied;
  ix.changes_since_save = 0;
  ix.last_save = std::chrono::steady_clock::now();
  AMALGAM_LOG(kInfo, "vector") << "saved vector index " << ix.def.name << " through seq " << applied << " ("
                               << blob.size() << " bytes)";
  return Status::OK();
}

bool VectorIndexes::WaitCaughtUp(std::string_view db, std::string_view coll, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t target = store_.LastVisibleSeq();
  catalog::CollectionPtr info = engine_.catalog().Find(db, coll);
  if (!info) return true;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const LivePtr& ix : indexes_) {
        if (ix->cid != info->id || ix->dropped) continue;
        if (ix->status != VectorIndexStatus::kReady || ix->applied_seq.load() < target) all = false;
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace amalgam::engine
