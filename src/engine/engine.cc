#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "common/logging.h"
#include "engine/change_log_index.h"
#include "engine/vector_indexes.h"
#include "index/index_entry.h"
#include "index/index_writer.h"
#include "storage/key_codec.h"
#include "storage/txn.h"

namespace amalgam::engine {
namespace {

constexpr size_t kBuildBatch = 500;
constexpr auto kDrainTimeout = std::chrono::seconds(120);

// meta key marking an index multikey: "mk" + [index id].
std::string MultikeyKey(uint64_t index_id) {
  std::string k = "mk";
  storage::AppendUint64BE(&k, index_id);
  return k;
}

std::string IdPrefix(uint64_t id) {
  std::string p;
  storage::AppendUint64BE(&p, id);
  return p;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Open(const std::string& dir, const EngineOptions& options) {
  std::unique_ptr<Engine> engine(new Engine());
  engine->options_ = options;
  AMALGAM_ASSIGN_OR_RETURN(engine->store_, storage::Store::Open(dir, options.store));
  engine->change_index_ = std::make_unique<CollectionChangeIndex>(*engine->store_);
  AMALGAM_ASSIGN_OR_RETURN(engine->catalog_, catalog::Catalog::Open(*engine->store_));
  AMALGAM_RETURN_IF_ERROR(engine->RemoveOrphans());
  AMALGAM_RETURN_IF_ERROR(engine->LoadMultikeyFlags());
  // An index still marked building was interrupted by a restart: build it again from scratch.
  for (const catalog::CollectionPtr& c : engine->catalog_->ListAll()) {
    for (const catalog::IndexSpec& spec : c->indexes) {
      if (spec.state != catalog::IndexSpec::State::kBuilding) continue;
      AMALGAM_LOG(kInfo, "engine") << "resuming build of index " << spec.name << " on " << c->ns();
      AMALGAM_RETURN_IF_ERROR(engine->store_->DeleteRange(storage::Cf::kIndexes, IdPrefix(spec.id), IdPrefix(spec.id + 1)));
      Status s = engine->BuildIndex(c->db, c->name, spec);
      if (!s.ok()) {
        AMALGAM_LOG(kWarning, "engine") << "index " << spec.name << " on " << c->ns() << " failed to build: " << s.ToString();
        engine->DropIndex(c->db, c->name, spec.name).IgnoreError();
      }
    }
  }
  AMALGAM_ASSIGN_OR_RETURN(engine->vectors_, VectorIndexes::Open(*engine));
  return engine;
}

Engine::~Engine() {
  vectors_.reset();  // stops its threads and saves the graphs while the store is open
  handles_.clear();
  catalog_.reset();
  change_index_.reset();
  store_.reset();
}

Result<HandlePtr> Engine::HandleFor(const catalog::CollectionPtr& info) {
  {
    std::lock_guard<std::mutex> lock(handles_mu_);
    auto it = handles_.find(info->id);
    if (it != handles_.end() && it->second->info == info) return it->second;
  }
  auto handle = std::make_shared<CollectionHandle>();
  handle->info = info;
  handle->prefix = IdPrefix(info->id);
  for (const catalog::IndexSpec& spec : info->indexes) {
    if (spec.is_id_index) continue;
    AMALGAM_ASSIGN_OR_RETURN(index::KeyGenerator gen, index::KeyGenerator::Make(spec));
    handle->indexes.push_back(std::move(gen));
    handle->multikey.push_back(MultikeyFlag(spec.id));
  }
  std::lock_guard<std::mutex> lock(handles_mu_);
  auto& slot = handles_[info->id];
  // Keep whichever handle belongs to the newer catalog version.
  catalog::CollectionPtr current = catalog_->Find(info->db, info->name);
  if (!slot || current == info) slot = handle;
  return HandlePtr(handle);
}

HandlePtr Engine::Find(std::string_view db, std::string_view coll) {
  catalog::CollectionPtr info = catalog_->Find(db, coll);
  if (!info) return nullptr;
  auto h = HandleFor(info);
  return h.ok() ? h.value() : nullptr;
}

Result<HandlePtr> Engine::GetOrCreate(std::string_view db, std::string_view coll) {
  AMALGAM_ASSIGN_OR_RETURN(catalog::CollectionPtr info, catalog_->GetOrCreate(db, coll));
  return HandleFor(info);
}

Result<HandlePtr> Engine::CreateCollection(std::string_view db, std::string_view coll, bson::DocView options) {
  AMALGAM_ASSIGN_OR_RETURN(catalog::CollectionPtr info, catalog_->CreateCollection(db, coll, options));
  return HandleFor(info);
}

Status Engine::RemoveCollectionData(const catalog::CollectionInfo& info) {
  AMALGAM_RETURN_IF_ERROR(store_->DeleteRange(storage::Cf::kDocuments, IdPrefix(info.id), IdPrefix(info.id + 1)));
  for (const catalog::IndexSpec& spec : info.indexes) {
    if (spec.is_id_index) continue;
    AMALGAM_RETURN_IF_ERROR(store_->DeleteRange(storage::Cf::kIndexes, IdPrefix(spec.id), IdPrefix(spec.id + 1)));
    AMALGAM_RETURN_IF_ERROR(store_->DeleteRange(storage::Cf::kMeta, MultikeyKey(spec.id), MultikeyKey(spec.id + 1)));
  }
  std::lock_guard<std::mutex> lock(handles_mu_);
  handles_.erase(info.id);
  return Status::OK();
}

Status Engine::DropCollection(std::string_view db, std::string_view coll) {
  std::lock_guard<std::mutex> lock(ddl_mu_);
  AMALGAM_ASSIGN_OR_RETURN(catalog::CollectionPtr info, catalog_->DropCollection(db, coll));
  return RemoveCollectionData(*info);
}

Result<size_t> Engine::DropDatabase(std::string_view db) {
  std::lock_guard<std::mutex> lock(ddl_mu_);
  AMALGAM_ASSIGN_OR_RETURN(std::vector<catalog::CollectionPtr> dropped, catalog_->DropDatabase(db));
  for (const catalog::CollectionPtr& info : dropped) AMALGAM_RETURN_IF_ERROR(RemoveCollectionData(*info));
  return dropped.size();
}

Status Engine::RenameCollection(std::string_view db, std::string_view from, std::string_view to_db, std::string_view to,
                                bool drop_target) {
  std::lock_guard<std::mutex> lock(ddl_mu_);
  catalog::CollectionPtr dropped;
  AMALGAM_RETURN_IF_ERROR(catalog_->RenameCollection(db, from, to_db, to, drop_target, &dropped));
  if (dropped) AMALGAM_RETURN_IF_ERROR(RemoveCollectionData(*dropped));
  return Status::OK();
}

Status Engine::RemoveOrphans() {
  std::set<uint64_t> live_collections, live_indexes;
  for (const catalog::CollectionPtr& c : catalog_->ListAll()) {
    live_collections.insert(c->id);
    for (const catalog::IndexSpec& spec : c->indexes) live_indexes.insert(spec.id);
  }
  for (auto [cf, live] : {std::pair{storage::Cf::kDocuments, &live_collections}, std::pair{storage::Cf::kIndexes, &live_indexes}}) {
    auto it = store_->NewIterator(cf, "", "");
    it->SeekToFirst();
    while (it->Valid()) {
      if (it->key().size() < 8) return Status(ErrorCode::kDataCorruption, "key without an id prefix");
      uint64_t id = storage::ReadUint64BE(it->key());
      if (!live->count(id)) {
        AMALGAM_LOG(kInfo, "engine") << "removing data of dropped " << (cf == storage::Cf::kDocuments ? "collection " : "index ") << id;
        AMALGAM_RETURN_IF_ERROR(store_->DeleteRange(cf, IdPrefix(id), IdPrefix(id + 1)));
      }
      if (id == UINT64_MAX) break;
      it->Seek(IdPrefix(id + 1));
    }
    AMALGAM_RETURN_IF_ERROR(it->status());
  }
  return Status::OK();
}

std::shared_ptr<std::atomic<bool>> Engine::MultikeyFlag(uint64_t index_id) {
  std::lock_guard<std::mutex> lock(multikey_mu_);
  auto& flag = multikey_[index_id];
  if (!flag) flag = std::make_shared<std::atomic<bool>>(false);
  return flag;
}

Status Engine::LoadMultikeyFlags() {
  auto it = store_->NewIterator(storage::Cf::kMeta, "mk", storage::PrefixSuccessor("mk"));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 10) return Status(ErrorCode::kDataCorruption, "malformed multikey marker");
    MultikeyFlag(storage::ReadUint64BE(it->key().substr(2)))->store(true);
  }
  return it->status();
}

Status Engine::MarkMultikey(storage::Txn& txn, const CollectionHandle& coll, const std::vector<bool>& seen) {
  for (size_t i = 0; i < seen.size(); ++i) {
    if (!seen[i] || coll.IsMultikey(i)) continue;
    AMALGAM_RETURN_IF_ERROR(txn.Put(storage::Cf::kMeta, MultikeyKey(coll.indexes[i].spec().id), ""));
    // Set before commit: planning as multikey is always safe, planning as not is only safe
    // once no multikey document can exist.
    coll.multikey[i]->store(true, std::memory_order_release);
  }
  return Status::OK();
}

std::unique_ptr<WriteTxn> Engine::Begin(const storage::TxnOptions& options) {
  uint64_t epoch;
  {
    std::lock_guard<std::mutex> lock(epoch_mu_);
    epoch = epoch_;
    ++active_by_epoch_[epoch];
  }
  return std::unique_ptr<WriteTxn>(new WriteTxn(this, store_->Begin(options), epoch));
}

void Engine::EndTxn(uint64_t epoch) {
  {
    std::lock_guard<std::mutex> lock(epoch_mu_);
    auto it = active_by_epoch_.find(epoch);
    // The current epoch's entry stays at zero (no allocation per transaction); older ones go.
    if (it != active_by_epoch_.end() && --it->second == 0 && epoch != epoch_) active_by_epoch_.erase(it);
  }
  epoch_cv_.notify_all();
}

void Engine::DrainOlderTxns() {
  std::unique_lock<std::mutex> lock(epoch_mu_);
  uint64_t target = ++epoch_;
  for (auto it = active_by_epoch_.begin(); it != active_by_epoch_.end();) {
    it = (it->first < target && it->second == 0) ? active_by_epoch_.erase(it) : std::next(it);
  }
  epoch_cv_.wait_for(lock, kDrainTimeout, [&] {
    return active_by_epoch_.empty() || active_by_epoch_.begin()->first >= target;
  });
}

Result<storage::CommitInfo> Engine::RunWrite(const std::function<Status(WriteTxn&)>& fn) {
  Status last;
  for (int attempt = 0; attempt <= options_.write_conflict_retries; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::microseconds(100 << std::min(attempt, 6)));
    storage::TxnOptions opts;
    opts.snapshot = false;
    auto txn = Begin(opts);
    last = fn(*txn);
    if (last.ok()) {
      auto r = txn->Commit();
      if (r.ok()) return r;
      last = r.status();
    }
    if (last.code() != ErrorCode::kWriteConflict) return last;
  }
  return last;
}

std::unique_ptr<ReadView> Engine::Read() { return std::make_unique<ReadView>(*store_, store_->GetSnapshot()); }

Result<bool> Engine::CreateIndex(std::string_view db, std::string_view coll, bson::DocView spec_doc) {
  AMALGAM_ASSIGN_OR_RETURN(catalog::IndexSpec spec, catalog::ParseIndexSpec(spec_doc));
  AMALGAM_RETURN_IF_ERROR(index::KeyGenerator::Make(spec).status());  // validates the partial filter
  std::lock_guard<std::mutex> lock(ddl_mu_);
  AMALGAM_RETURN_IF_ERROR(catalog_->GetOrCreate(db, coll).status());
  spec.state = catalog::IndexSpec::State::kBuilding;
  bool existed = false;
  AMALGAM_ASSIGN_OR_RETURN(catalog::IndexSpec added, catalog_->AddIndex(db, coll, spec, &existed));
  if (existed) return false;
  Status s = BuildIndex(std::string(db), std::string(coll), added);
  if (!s.ok()) {
    catalog_->DropIndex(db, coll, added.name).status().IgnoreError();
    store_->DeleteRange(storage::Cf::kIndexes, IdPrefix(added.id), IdPrefix(added.id + 1)).IgnoreError();
    return s;
  }
  return true;
}

Status Engine::BuildIndex(const std::string& db, const std::string& coll, const catalog::IndexSpec& spec) {
  AMALGAM_ASSIGN_OR_RETURN(index::KeyGenerator gen, index::KeyGenerator::Make(spec));
  std::vector<index::KeyGenerator> gens;
  gens.push_back(std::move(gen));
  // Writers that began before the index was in the catalog do not maintain it: wait for them.
  DrainOlderTxns();
  catalog::CollectionPtr info = catalog_->Find(db, coll);
  if (!info) return Status(ErrorCode::kNamespaceNotFound, "collection dropped during index build");
  std::string ns = info->ns();
  auto snapshot = store_->GetSnapshot();
  std::string prefix = IdPrefix(info->id);
  auto it = store_->NewIterator(storage::Cf::kDocuments, prefix, storage::PrefixSuccessor(prefix), snapshot.get());
  it->SeekToFirst();
  uint64_t built = 0;
  std::vector<std::string> batch;
  while (true) {
    batch.clear();
    for (; it->Valid() && batch.size() < kBuildBatch; it->Next()) batch.emplace_back(it->key());
    AMALGAM_RETURN_IF_ERROR(it->status());
    if (batch.empty()) break;
    // Each document is re-read and locked at a fresh snapshot, so a concurrent update cannot
    // leave behind an entry for a version it has already replaced.
    Status s;
    for (int attempt = 0; attempt <= options_.write_conflict_retries; ++attempt) {
      auto txn = store_->Begin(storage::TxnOptions{});
      s = Status::OK();
      for (const std::string& key : batch) {
        auto doc = txn->GetForUpdate(storage::Cf::kDocuments, key);
        if (!doc.ok()) {
          s = doc.status();
          break;
        }
        if (!doc.value()) continue;  // deleted since the scan snapshot
        bson::DocView view(reinterpret_cast<const uint8_t*>(doc.value()->data()), static_cast<uint32_t>(doc.value()->size()));
        std::vector<bool> seen(1, false);
        s = index::UpdateIndexes(*txn, ns, gens, std::string_view(key).substr(8), nullptr, &view, &seen);
        if (s.ok() && seen[0] && !MultikeyFlag(spec.id)->load()) {
          s = txn->Put(storage::Cf::kMeta, MultikeyKey(spec.id), "");
          MultikeyFlag(spec.id)->store(true);
        }
        if (!s.ok()) break;
      }
      if (s.ok()) s = txn->Commit().status();
      if (s.code() != ErrorCode::kWriteConflict) break;
    }
    AMALGAM_RETURN_IF_ERROR(s);
    built += batch.size();
  }
  AMALGAM_RETURN_IF_ERROR(catalog_->SetIndexState(db, coll, spec.id, catalog::IndexSpec::State::kReady));
  AMALGAM_LOG(kInfo, "engine") << "built index " << spec.name << " on " << ns << " over " << built << " documents";
  return Status::OK();
}

Status Engine::DropIndex(std::string_view db, std::string_view coll, std::string_view name) {
  std::lock_guard<std::mutex> lock(ddl_mu_);
  AMALGAM_ASSIGN_OR_RETURN(catalog::IndexSpec dropped, catalog_->DropIndex(db, coll, name));
  {
    std::lock_guard<std::mutex> lock(multikey_mu_);
    multikey_.erase(dropped.id);
  }
  AMALGAM_RETURN_IF_ERROR(store_->DeleteRange(storage::Cf::kMeta, MultikeyKey(dropped.id), MultikeyKey(dropped.id + 1)));
  return store_->DeleteRange(storage::Cf::kIndexes, IdPrefix(dropped.id), IdPrefix(dropped.id + 1));
}

Result<ValidateReport> Engine::Validate(std::string_view db, std::string_view coll) {
  HandlePtr handle = Find(db, coll);
  if (!handle) return Status(ErrorCode::kNamespaceNotFound, "ns not found: " + std::string(db) + "." + std::string(coll));
  ValidateReport report;
  auto snapshot = store_->GetSnapshot();
  ReadView view(*store_, snapshot);
  std::vector<uint64_t> expected(handle->indexes.size(), 0);
  auto cursor = view.Scan(*handle);
  bson::DocView doc;
  std::vector<storage::EncodedKey> keys;
  while (cursor->Next(&doc)) {
    ++report.documents;
    std::string id(cursor->encoded_id());
    if (storage::EncodeValue(doc.Get("_id")).key != id) report.errors.push_back("document stored under a key that is not its _id");
    for (size_t i = 0; i < handle->indexes.size(); ++i) {
      const index::KeyGenerator& gen = handle->indexes[i];
      Status s = gen.Generate(doc, &keys);
      if (!s.ok()) {
        report.errors.push_back("index " + gen.spec().name + ": " + s.ToString());
        continue;
      }
      expected[i] += keys.size();
      for (const storage::EncodedKey& k : keys) {
        index::IndexEntry e = index::MakeIndexEntry(gen.spec().id, gen.spec().unique, k, id);
        auto stored = store_->Get(storage::Cf::kIndexes, e.key, snapshot.get());
        if (!stored.ok()) return stored.status();
        if (!stored.value() || *stored.value() != e.value) {
          report.errors.push_back("index " + gen.spec().name + " lacks the entry " + index::DuplicateKeyText(gen, k) +
                                  " of a document");
        }
      }
    }
  }
  AMALGAM_RETURN_IF_ERROR(cursor->status());
  for (size_t i = 0; i < handle->indexes.size(); ++i) {
    const catalog::IndexSpec& spec = handle->indexes[i].spec();
    auto ic = view.ScanIndex(spec, "", "");
    IndexCursorEntry entry;
    uint64_t n = 0;
    while (ic->Next(&entry)) {
      ++n;
      auto d = view.GetByEncodedId(*handle, entry.encoded_id);
      if (!d.ok()) return d.status();
      if (!d.value()) report.errors.push_back("index " + spec.name + " has an entry for a missing document");
    }
    AMALGAM_RETURN_IF_ERROR(ic->status());
    report.index_entries[spec.name] = n;
    if (n != expected[i]) {
      report.errors.push_back("index " + spec.name + " has " + std::to_string(n) + " entries, documents generate " +
                              std::to_string(expected[i]));
    }
  }
  report.valid = report.errors.empty();
  return report;
}

Result<std::vector<storage::ChangeEntry>> Engine::ReadChanges(uint64_t after_seq, size_t limit, uint64_t* scanned_through) {
  std::vector<storage::ChangeEntry> out;
  auto snapshot = store_->GetSnapshot();
  uint64_t visible = snapshot->visible_seq();
  // Loaded after the snapshot: a trim that began before it has already set the mark (see
  // Store::TrimChangeLog), and one that begins later cannot change what the snapshot holds.
  uint64_t trimmed = store_->ChangeLogTrimmedThrough();
  if (after_seq < trimmed) {
    return Status(ErrorCode::kChangeStreamHistoryLost,
                  "Resume of change stream was not possible, as the resume point may no longer be in the change log "
                  "(entries up to " + std::to_string(trimmed) + " have been removed by retention)");
  }
  if (scanned_through) *scanned_through = std::max(after_seq, visible);
  if (after_seq >= visible || limit == 0) {
    if (scanned_through && limit == 0) *scanned_through = after_seq;
    return out;
  }
  std::string lo, hi;
  storage::AppendUint64BE(&lo, after_seq + 1);
  storage::AppendUint64BE(&hi, visible + 1);
  auto it = store_->NewIterator(storage::Cf::kChangeLog, lo, hi, snapshot.get());
  for (it->SeekToFirst(); it->Valid() && out.size() < limit; it->Next()) {
    AMALGAM_ASSIGN_OR_RETURN(storage::ChangeEntry e, storage::DecodeChangeEntry(storage::ReadUint64BE(it->key()), it->value()));
    out.push_back(std::move(e));
  }
  AMALGAM_RETURN_IF_ERROR(it->status());
  if (scanned_through && out.size() == limit) *scanned_through = out.back().seq;
  return out;
}

}  // namespace amalgam::engine
