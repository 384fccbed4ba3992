// engine_bench: the Amalgam engine against raw RocksDB on the same data, in the same run.
//
// Every case is registered as "<case>/<impl>", where impl is "raw" for plain RocksDB and
// "amalgam..." for the engine; scripts/bench.sh pairs them and prints Amalgam/raw time ratios.
//
// The raw side opens a plain rocksdb::DB (no TransactionDB) with the same column families and
// options as storage::Store, in its own directory, and writes exactly as many key-value pairs
// per commit as Amalgam does (document + index entries + one change-log record per document),
// with the key and value sizes Amalgam really produced (read back from Amalgam's store: the
// mean key sizes, and the change-log record of a single insert), in one WriteBatch per commit, with the same WriteOptions (sync=false, WAL on).
// A second raw baseline for inserts, "raw_get", also does a Get of each document key before its
// WriteBatch: the read any store must do that reports duplicate keys.
// Both sides build the same BSON document inside the timed loop.
//
// Data lives in /tmp/amalgam-bench-XXXXXX, removed at exit. Results: docs/benchmarks.md.

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "bson/json.h"
#include "common/logging.h"
#include "engine/engine.h"
#include "index/index_entry.h"
#include "storage/key_codec.h"

namespace amalgam {
namespace {

constexpr int64_t kPreload = 100000;  // documents in the read collection
constexpr int kScanLen = 100;         // index entries per range scan
constexpr size_t kRandomIds = 1 << 16;
constexpr int kTxnDocs = 10;

// ---- documents: {_id: int64, a: int32, b: string(16), c: double, pad: string(100)} ----

int32_t AValue(int64_t id) { return static_cast<int32_t>((id * 7919) % kPreload); }  // a permutation on [0, kPreload)

void BValue(int64_t id, char out[17]) {
  uint64_t h = static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ull;
  std::snprintf(out, 17, "u%015llu", static_cast<unsigned long long>(h % 1000000000000000ull));
}

const std::string& Pad() {
  static const std::string pad(100, 'x');
  return pad;
}

bson::Document MakeDoc(int64_t id) {
  char b[17];
  BValue(id, b);
  bson::Builder builder;
  builder.AppendInt64("_id", id)
      .AppendInt32("a", AValue(id))
      .AppendString("b", std::string_view(b, 16))
      .AppendDouble("c", static_cast<double>(id) * 0.5)
      .AppendString("pad", Pad());
  return std::move(builder).Finish();
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "engine_bench: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}
void CheckRocks(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "engine_bench: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

// ---- raw RocksDB, opened like storage::Store::Open (same column families and options) ----

enum RawCf { kDocs = 0, kIdx = 1, kVec = 2, kLog = 3, kMeta = 4, kNumRawCfs = 5 };

struct RawDb {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;

  explicit RawDb(const std::string& dir) {
    rocksdb::DBOptions db_opts;
    db_opts.create_if_missing = true;
    db_opts.create_missing_column_families = true;
    db_opts.max_background_jobs = 2;
    db_opts.bytes_per_sync = 1 << 20;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(256u << 20);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    table.format_version = 5;
    const char* names[kNumRawCfs] = {rocksdb::kDefaultColumnFamilyName.c_str(), "indexes", "vectors", "changelog",
                                     "meta"};
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (int i = 0; i < kNumRawCfs; ++i) {
      rocksdb::ColumnFamilyOptions cf_opts;
      cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      cf_opts.compression = rocksdb::kLZ4Compression;
      cf_opts.bottommost_compression = rocksdb::kZSTD;
      cf_opts.level_compaction_dynamic_level_bytes = true;
      descs.emplace_back(names[i], cf_opts);
    }
    CheckRocks(rocksdb::DB::Open(db_opts, dir, descs, &cfs, &db), "opening raw RocksDB");
  }
  ~RawDb() {
    for (auto* h : cfs) db->DestroyColumnFamilyHandle(h);
    db->Close().PermitUncheckedError();
    delete db;
  }
};

void PutBE64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s->push_back(static_cast<char>(v >> (8 * i)));
}
void PutBE32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetBE64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Sizes of what Amalgam stores per document, measured from its store after the preload.
struct Sizes {
  size_t doc_key = 0, idx_a_key = 0, idx_b_key = 0, idx_value = 0, log_value = 0, doc = 0;
};

// A hand-written application's layout on raw RocksDB, padded to Amalgam's sizes:
//   doc    [coll 8][id 8] -> BSON      index a [index 8][a 4][id 8] -> value
//   log    [seq 8] -> the document plus a header     index b [index 8][b 16][id 8] -> value
struct RawLayout {
  Sizes sz;
  std::string idx_value;
  uint64_t next_seq = 1;

  void DocKey(std::string* k, uint64_t coll, int64_t id) const {
    k->clear();
    PutBE64(k, coll);
    PutBE64(k, static_cast<uint64_t>(id) ^ (1ull << 63));
    k->resize(std::max<size_t>(sz.doc_key, 16), '\0');
  }
  void IdxAKey(std::string* k, uint64_t index, int32_t a, int64_t id) const {
    k->clear();
    PutBE64(k, index);
    PutBE32(k, static_cast<uint32_t>(a) ^ (1u << 31));
    PutBE64(k, static_cast<uint64_t>(id) ^ (1ull << 63));
    k->resize(std::max<size_t>(sz.idx_a_key, 20), '\0');
  }
  void IdxBKey(std::string* k, uint64_t index, int64_t id) const {
    char b[17];
    BValue(id, b);
    k->clear();
    PutBE64(k, index);
    k->append(b, 16);
    PutBE64(k, static_cast<uint64_t>(id) ^ (1ull << 63));
    k->resize(std::max<size_t>(sz.idx_b_key, 32), '\0');
  }
  // Appends one document's pairs (document, `indexes` index entries, change-log record).
  void AddDoc(rocksdb::WriteBatch* batch, RawDb& raw, uint64_t coll, int indexes, int64_t id, const bson::Document& doc,
              std::string* k, std::string* v) {
    DocKey(k, coll, id);
    CheckRocks(batch->Put(raw.cfs[kDocs], *k, doc.bytes()), "batch put");
    if (indexes > 0) {
      IdxAKey(k, coll * 16 + 1, AValue(id), id);
      CheckRocks(batch->Put(raw.cfs[kIdx], *k, idx_value), "batch put");
    }
    if (indexes > 1) {
      IdxBKey(k, coll * 16 + 2, id);
      CheckRocks(batch->Put(raw.cfs[kIdx], *k, idx_value), "batch put");
    }
    k->clear();
    PutBE64(k, next_seq++);
    v->clear();
    PutBE64(v, static_cast<uint64_t>(id));  // stands for the record header
    v->append(doc.bytes());
    v->resize(std::max(sz.log_value, v->size()), '\0');
    CheckRocks(batch->Put(raw.cfs[kLog], *k, *v), "batch put");
  }
};

constexpr uint64_t kRawReadColl = 1, kRawIns0Coll = 2, kRawIns2Coll = 3;

// ---- the shared world: one engine and one raw DB, each with a preloaded read collection ----

struct World {
  std::string dir;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<RawDb> raw;
  RawLayout layout;
  engine::HandlePtr read_coll, ins0_coll, ins2_coll;
  catalog::IndexSpec read_a_index;
  std::vector<int64_t> random_ids;             // in [0, kPreload)
  std::vector<bson::Document> random_id_docs;  // {_id: random_ids[i]}
  std::vector<int32_t> scan_starts;            // a values; [start, start + kScanLen) holds kScanLen entries
  std::vector<std::string> scan_lower, scan_upper;  // encoded a values for Amalgam
  int64_t next_id = 1'000'000'000;             // ids of inserted documents
  bool preloaded = false;

  World() {
    char tmpl[] = "/tmp/amalgam-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    engine::EngineOptions options;  // durability kProcess: sync=false, WAL on
    auto e = engine::Engine::Open(dir + "/amalgam", options);
    Check(e.status(), "opening the engine");
    engine = std::move(e).value();
    raw = std::make_unique<RawDb>(dir + "/raw");

    for (const char* name : {"read", "ins2"}) {
      for (const char* spec : {R"({"key": {"a": 1}, "name": "a_1"})", R"({"key": {"b": 1}, "name": "b_1"})"}) {
        Check(engine->CreateIndex("bench", name, bson::FromJson(spec).value().view()).status(), "createIndex");
      }
    }
    read_coll = engine->Find("bench", "read");
    ins2_coll = engine->Find("bench", "ins2");
    ins0_coll = engine->GetOrCreate("bench", "ins0").value();
    for (const auto& spec : read_coll->info->indexes) {
      if (spec.name == "a_1") read_a_index = spec;
    }
    // One document gives the raw side Amalgam's sizes until the preload measures their means.
    Check(engine->RunWrite([&](engine::WriteTxn& t) { return t.Insert(*read_coll, MakeDoc(-1).view()); }).status(),
          "size probe");
    MeasureSizes();

    std::mt19937_64 rng(42);
    for (size_t i = 0; i < kRandomIds; ++i) {
      int64_t id = static_cast<int64_t>(rng() % kPreload);
      random_ids.push_back(id);
      bson::Builder b;
      b.AppendInt64("_id", id);
      random_id_docs.push_back(std::move(b).Finish());
      int32_t start = static_cast<int32_t>(rng() % (kPreload - kScanLen));
      scan_starts.push_back(start);
      scan_lower.push_back(EncodeA(start));
      scan_upper.push_back(EncodeA(start + kScanLen));
    }
  }

  // Loads kPreload documents into both read collections, flushes both stores and warms their
  // block caches. Called (untimed) by the read benchmarks; writes-only runs skip it.
  void EnsurePreloaded() {
    if (preloaded) return;
    preloaded = true;
    Preload();
    MeasureSizes();
    PreloadRaw();
    Check(engine->store().Flush(), "flush");
    rocksdb::FlushOptions fo;
    CheckRocks(raw->db->Flush(fo, raw->cfs), "raw flush");
    WarmUp();
  }

  ~World() {
    read_coll.reset();
    ins0_coll.reset();
    ins2_coll.reset();
    engine.reset();
    raw.reset();
    std::filesystem::remove_all(dir);
  }

  // Reads every key of both stores once, so that both block caches hold the whole data set and
  // neither side pays first-touch misses inside its timed loop.
  void WarmUp() {
    for (storage::Cf cf : {storage::Cf::kDocuments, storage::Cf::kIndexes}) {
      auto it = engine->store().NewIterator(cf, "", "");
      for (it->SeekToFirst(); it->Valid(); it->Next()) benchmark::DoNotOptimize(it->value());
    }
    for (int cf : {kDocs, kIdx}) {
      std::unique_ptr<rocksdb::Iterator> it(raw->db->NewIterator(rocksdb::ReadOptions(), raw->cfs[cf]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) benchmark::DoNotOptimize(it->value());
    }
  }

  static std::string EncodeA(int32_t a) {
    bson::Builder b;
    b.AppendInt32("a", a);
    bson::Document d = std::move(b).Finish();
    return storage::EncodeValue(d.view().Get("a")).key;
  }

  void Preload() {
    for (int64_t base = 0; base < kPreload; base += 1000) {
      auto txn = engine->Begin();
      for (int64_t id = base; id < base + 1000; ++id) {
        bson::Document doc = MakeDoc(id);
        Check(txn->Insert(*read_coll, doc.view()), "preload insert");
      }
      Check(txn->Commit().status(), "preload commit");
    }
  }

  void PreloadRaw() {
    std::string k, v;
    for (int64_t base = 0; base < kPreload; base += 1000) {
      rocksdb::WriteBatch batch;
      for (int64_t id = base; id < base + 1000; ++id) {
        layout.AddDoc(&batch, *raw, kRawReadColl, 2, id, MakeDoc(id), &k, &v);
      }
      rocksdb::WriteOptions wo;
      CheckRocks(raw->db->Write(wo, &batch), "raw preload");
    }
  }

  // The mean key (or value) size over every entry under `prefix`.
  size_t MeanSize(storage::Cf cf, const std::string& prefix, bool value) {
    auto it = engine->store().NewIterator(cf, prefix, storage::PrefixSuccessor(prefix));
    size_t n = 0, total = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++n;
      total += value ? it->value().size() : it->key().size();
    }
    if (n == 0) std::abort();
    return (total + n / 2) / n;
  }

  void MeasureSizes() {
    Sizes& s = layout.sz;
    s.doc = MakeDoc(1).bytes().size();
    s.doc_key = MeanSize(storage::Cf::kDocuments, read_coll->prefix, false);
    for (const auto& spec : read_coll->info->indexes) {
      if (spec.name == "a_1") s.idx_a_key = MeanSize(storage::Cf::kIndexes, index::IndexPrefix(spec.id), false);
      if (spec.name == "b_1") s.idx_b_key = MeanSize(storage::Cf::kIndexes, index::IndexPrefix(spec.id), false);
      if (spec.name == "b_1") s.idx_value = MeanSize(storage::Cf::kIndexes, index::IndexPrefix(spec.id), true);
    }
    if (s.log_value == 0) {  // the probe's record: a single-document insert, as every raw commit writes
      auto it = engine->store().NewIterator(storage::Cf::kChangeLog, "", "");
      it->SeekToLast();
      if (!it->Valid()) std::abort();
      s.log_value = it->value().size();
    }
    layout.idx_value.assign(s.idx_value, '\0');
    std::fprintf(stderr,
                 "engine_bench: per document Amalgam stores: document %zu B under a %zu B key; index keys a_1 %zu B, "
                 "b_1 %zu B, index values %zu B; change-log value %zu B under an 8 B key (key sizes: means)\n",
                 s.doc, s.doc_key, s.idx_a_key, s.idx_b_key, s.idx_value, s.log_value);
  }
};

World* g_world = nullptr;

// ---- point get by _id ----

void GetAmalgamView(benchmark::State& state) {
  World& w = *g_world;
  w.EnsurePreloaded();
  auto view = w.engine->Read();
  size_t i = 0;
  for (auto _ : state) {
    const bson::Document& idd = w.random_id_docs[i++ & (kRandomIds - 1)];
    auto r = view->Get(*w.read_coll, idd.view().Get("_id"));
    if (!r.ok() || !r.value()) state.SkipWithError("get failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void GetAmalgamNewView(benchmark::State& state) {
  World& w = *g_world;
  w.EnsurePreloaded();
  size_t i = 0;
  for (auto _ : state) {
    const bson::Document& idd = w.random_id_docs[i++ & (kRandomIds - 1)];
    auto view = w.engine->Read();
    auto r = view->Get(*w.read_coll, idd.view().Get("_id"));
    if (!r.ok() || !r.value()) state.SkipWithError("get failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void GetRaw(benchmark::State& state) {
  World& w = *g_world;
  w.EnsurePreloaded();
  std::string key, value;
  rocksdb::ReadOptions ro;
  size_t i = 0;
  for (auto _ : state) {
    w.layout.DocKey(&key, kRawReadColl, w.random_ids[i++ & (kRandomIds - 1)]);
    rocksdb::Status s = w.raw->db->Get(ro, w.raw->cfs[kDocs], key, &value);
    if (!s.ok()) state.SkipWithError("raw get failed");
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- index range scan of kScanLen entries over a_1 ----

template <bool kFetch>
void ScanAmalgam(benchmark::State& state) {
  World& w = *g_world;
  w.EnsurePreloaded();
  size_t i = 0;
  for (auto _ : state) {
    size_t j = i++ & (kRandomIds - 1);
    auto view = w.engine->Read();
    auto cursor = view->ScanIndex(w.read_a_index, w.scan_lower[j], w.scan_upper[j]);
    engine::IndexCursorEntry e;
    int n = 0;
    while (cursor->Next(&e)) {
      ++n;
      if constexpr (kFetch) {
        auto doc = view->GetByEncodedId(*w.read_coll, e.encoded_id);
        if (!doc.ok() || !doc.value()) state.SkipWithError("fetch failed");
        benchmark::DoNotOptimize(doc);
      } else {
        benchmark::DoNotOptimize(e);
      }
    }
    if (n != kScanLen || !cursor->status().ok()) state.SkipWithError("scan returned a wrong count");
  }
  state.SetItemsProcessed(state.iterations() * kScanLen);
}

template <bool kFetch>
void ScanRaw(benchmark::State& state) {
  World& w = *g_world;
  w.EnsurePreloaded();
  std::string lower, upper, doc_key, value;
  const uint64_t index = kRawReadColl * 16 + 1;
  size_t i = 0;
  for (auto _ : state) {
    int32_t start = w.scan_starts[i++ & (kRandomIds - 1)];
    lower.clear();
    PutBE64(&lower, index);
    PutBE32(&lower, static_cast<uint32_t>(start) ^ (1u << 31));
    upper.clear();
    PutBE64(&upper, index);
    PutBE32(&upper, static_cast<uint32_t>(start + kScanLen) ^ (1u << 31));
    rocksdb::Slice lo(lower), hi(upper);
    const rocksdb::Snapshot* snap = w.raw->db->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    ro.iterate_lower_bound = &lo;
    ro.iterate_upper_bound = &hi;
    std::unique_ptr<rocksdb::Iterator> it(w.raw->db->NewIterator(ro, w.raw->cfs[kIdx]));
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++n;
      rocksdb::Slice k = it->key();
      int64_t id = static_cast<int64_t>(GetBE64(k.data() + 12) ^ (1ull << 63));
      if constexpr (kFetch) {
        w.layout.DocKey(&doc_key, kRawReadColl, id);
        rocksdb::ReadOptions gro;
        gro.snapshot = snap;
        if (!w.raw->db->Get(gro, w.raw->cfs[kDocs], doc_key, &value).ok()) state.SkipWithError("raw fetch failed");
        benchmark::DoNotOptimize(value);
      } else {
        benchmark::DoNotOptimize(id);
        benchmark::DoNotOptimize(it->value());
      }
    }
    if (n != kScanLen || !it->status().ok()) state.SkipWithError("raw scan returned a wrong count");
    it.reset();
    w.raw->db->ReleaseSnapshot(snap);
  }
  state.SetItemsProcessed(state.iterations() * kScanLen);
}

// ---- inserts: one document per commit, and kTxnDocs documents per commit ----

void InsertAmalgam(benchmark::State& state) {
  World& w = *g_world;
  const int docs = static_cast<int>(state.range(0));
  const auto& coll = state.range(1) == 0 ? w.ins0_coll : w.ins2_coll;
  for (auto _ : state) {
    if (docs == 1) {
      bson::Document doc = MakeDoc(w.next_id++);
      auto r = w.engine->RunWrite([&](engine::WriteTxn& txn) { return txn.Insert(*coll, doc.view()); });
      if (!r.ok()) state.SkipWithError("insert failed");
    } else {
      auto txn = w.engine->Begin();
      for (int d = 0; d < docs; ++d) {
        bson::Document doc = MakeDoc(w.next_id++);
        if (!txn->Insert(*coll, doc.view()).ok()) state.SkipWithError("insert failed");
      }
      if (!txn->Commit().ok()) state.SkipWithError("commit failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * docs);
}

// kGetFirst: the "raw_get" baseline, which reads each document key before writing it, as any
// store must that reports duplicate keys (MongoDB's E11000); the key is always absent.
template <bool kGetFirst>
void InsertRaw(benchmark::State& state) {
  World& w = *g_world;
  const int docs = static_cast<int>(state.range(0));
  const int indexes = static_cast<int>(state.range(1));
  const uint64_t coll = indexes == 0 ? kRawIns0Coll : kRawIns2Coll;
  rocksdb::WriteOptions wo;  // sync=false, WAL on: Durability::kProcess
  rocksdb::ReadOptions ro;
  rocksdb::PinnableSlice existing;
  std::string k, v;
  for (auto _ : state) {
    rocksdb::WriteBatch batch;
    for (int d = 0; d < docs; ++d) {
      int64_t id = w.next_id++;
      if constexpr (kGetFirst) {
        w.layout.DocKey(&k, coll, id);
        existing.Reset();
        if (!w.raw->db->Get(ro, w.raw->cfs[kDocs], k, &existing).IsNotFound()) {
          state.SkipWithError("raw duplicate check found a key");
        }
      }
      w.layout.AddDoc(&batch, *w.raw, coll, indexes, id, MakeDoc(id), &k, &v);
    }
    if (!w.raw->db->Write(wo, &batch).ok()) state.SkipWithError("raw write failed");
  }
  state.SetItemsProcessed(state.iterations() * docs);
}

void Register() {
  benchmark::RegisterBenchmark("PointGet/amalgam", GetAmalgamView);
  benchmark::RegisterBenchmark("PointGet/amalgam_newview", GetAmalgamNewView);
  benchmark::RegisterBenchmark("PointGet/raw", GetRaw);
  benchmark::RegisterBenchmark("IndexScan100Keys/amalgam", ScanAmalgam<false>);
  benchmark::RegisterBenchmark("IndexScan100Keys/raw", ScanRaw<false>);
  benchmark::RegisterBenchmark("IndexScan100Fetch/amalgam", ScanAmalgam<true>);
  benchmark::RegisterBenchmark("IndexScan100Fetch/raw", ScanRaw<true>);
  for (int idx : {0, 2}) {
    std::string suffix = "_" + std::to_string(idx) + "idx";
    benchmark::RegisterBenchmark(("Insert" + suffix + "/amalgam").c_str(), InsertAmalgam)->Args({1, idx});
    benchmark::RegisterBenchmark(("Insert" + suffix + "/raw").c_str(), InsertRaw<false>)->Args({1, idx});
    benchmark::RegisterBenchmark(("Insert" + suffix + "/raw_get").c_str(), InsertRaw<true>)->Args({1, idx});
  }
  for (int idx : {0, 2}) {
    std::string suffix = "_" + std::to_string(idx) + "idx";
    benchmark::RegisterBenchmark(("Txn10Docs" + suffix + "/amalgam").c_str(), InsertAmalgam)->Args({kTxnDocs, idx});
    benchmark::RegisterBenchmark(("Txn10Docs" + suffix + "/raw").c_str(), InsertRaw<false>)->Args({kTxnDocs, idx});
    benchmark::RegisterBenchmark(("Txn10Docs" + suffix + "/raw_get").c_str(), InsertRaw<true>)
        ->Args({kTxnDocs, idx});
  }
}

}  // namespace
}  // namespace amalgam

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  amalgam::SetLogLevel(amalgam::LogLevel::kWarning);
  amalgam::Register();
  amalgam::World world;
  amalgam::g_world = &world;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  amalgam::g_world = nullptr;
  return 0;
}
