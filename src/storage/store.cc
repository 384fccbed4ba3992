#include "storage/store.h"

#include <algorithm>

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>

#include "common/logging.h"
#include "storage/data_dir_lock.h"
#include "storage/key_codec.h"
#include "storage/rocks_internal.h"
#include "storage/txn.h"

namespace amalgam::storage {

// ---- Iterator ----

Iterator::Iterator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Iterator::~Iterator() = default;
// The bounds are also enforced here, not only through ReadOptions: a transaction's iterator
// (RocksDB's BaseDeltaIterator) ignores them for the transaction's own uncommitted writes, so
// SeekToFirst would start at the first own write of any key (another collection's documents).
void Iterator::Seek(std::string_view t) {
  if (!impl_->lower.empty() && t < impl_->lower) t = impl_->lower;
  impl_->it->Seek(rocksdb::Slice(t.data(), t.size()));
}
void Iterator::SeekForPrev(std::string_view t) {
  if (!impl_->upper.empty() && t >= impl_->upper) return SeekToLast();
  impl_->it->SeekForPrev(rocksdb::Slice(t.data(), t.size()));
}
void Iterator::SeekToFirst() {
  if (impl_->lower.empty()) return impl_->it->SeekToFirst();
  impl_->it->Seek(impl_->lower_slice);
}
void Iterator::SeekToLast() {
  if (impl_->upper.empty()) return impl_->it->SeekToLast();
  impl_->it->SeekForPrev(impl_->upper_slice);
  if (impl_->it->Valid() && impl_->it->key().compare(impl_->upper_slice) >= 0) impl_->it->Prev();
}
void Iterator::Next() { impl_->it->Next(); }
void Iterator::Prev() { impl_->it->Prev(); }
bool Iterator::Valid() const {
  if (!impl_->it->Valid()) return false;
  rocksdb::Slice k = impl_->it->key();
  return (impl_->lower.empty() || k.compare(impl_->lower_slice) >= 0) &&
         (impl_->upper.empty() || k.compare(impl_->upper_slice) < 0);
}
std::string_view Iterator::key() const {
  rocksdb::Slice k = impl_->it->key();
  return {k.data(), k.size()};
}
std::string_view Iterator::value() const {
  rocksdb::Slice v = impl_->it->value();
  return {v.data(), v.size()};
}
Status Iterator::status() const { return FromRocks(impl_->it->status(), "iterator"); }

namespace {

const char* const kCfNames[kNumCfs] = {"documents", "indexes", "vectors", "changelog", "meta"};
// meta key of the change-log retention mark: 8 bytes BE, the highest trimmed seq.
constexpr std::string_view kTrimMarkKey = "logtrim";

}  // namespace

// ---- Snapshot ----

Snapshot::Snapshot(rocksdb::TransactionDB* db, const rocksdb::Snapshot* snap, uint64_t visible_seq)
    : db_(db), snap_(snap), visible_seq_(visible_seq) {}
Snapshot::~Snapshot() {
  if (db_ != nullptr) db_->ReleaseSnapshot(snap_);
}

// ---- Store ----

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const StoreOptions& options) {
  std::unique_ptr<Store> store(new Store());
  if (options.take_dir_lock) {
    AMALGAM_ASSIGN_OR_RETURN(store->lock_, DataDirLock::Acquire(dir));
  }
  store->clock_ = options.clock ? options.clock : &SystemClock::Default();
  store->durability_ = options.durability;

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.bytes_per_sync = 1 << 20;
  if (options.env) db_opts.env = options.env;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (int i = 0; i < kNumCfs; ++i) {
    rocksdb::ColumnFamilyOptions cf_opts;
    cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_opts.compression = rocksdb::kLZ4Compression;
    cf_opts.bottommost_compression = rocksdb::kZSTD;
    cf_opts.level_compaction_dynamic_level_bytes = true;
    if (i == static_cast<int>(Cf::kDocuments) || i == static_cast<int>(Cf::kIndexes)) {
      // Inserts look up keys that do not exist yet (duplicate checks, lock validation): a
      // memtable bloom filter answers those without walking the skip list.
      cf_opts.memtable_prefix_bloom_size_ratio = 0.02;
      cf_opts.memtable_whole_key_filtering = true;
    }
    descs.emplace_back(i == 0 ? rocksdb::kDefaultColumnFamilyName : kCfNames[i], cf_opts);
  }
  rocksdb::TransactionDBOptions txn_opts;
  txn_opts.default_lock_timeout = 10;  // ms; see TxnOptions::lock_timeout_ms
  txn_opts.transaction_lock_timeout = 10;
  txn_opts.num_stripes = 64;

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s = rocksdb::TransactionDB::Open(db_opts, txn_opts, dir, descs, &handles, &store->db_);
  if (!s.ok()) return FromRocks(s, "opening the database in '" + dir + "'");
  store->cfs_ = std::move(handles);

  // Recover the change-log sequence: the next one follows the last entry written.
  std::unique_ptr<rocksdb::Iterator> it(store->db_->NewIterator(rocksdb::ReadOptions(), store->cf(Cf::kChangeLog)));
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 8) {
    uint64_t last = ReadUint64BE(std::string_view(it->key().data(), 8));
    store->next_seq_ = last + 1;
    store->visible_seq_ = last;
  }
  AMALGAM_RETURN_IF_ERROR(FromRocks(it->status(), "reading the change log"));
  // Entries up to the retention mark are gone; numbering continues after it even if the trim
  // emptied the log, so a sequence number (a resume token) is never handed out twice.
  std::string mark;
  rocksdb::Status ms = store->db_->Get(rocksdb::ReadOptions(), store->cf(Cf::kMeta), rocksdb::Slice(kTrimMarkKey.data(), kTrimMarkKey.size()), &mark);
  if (ms.ok()) {
    if (mark.size() != 8) return Status(ErrorCode::kDataCorruption, "malformed change-log retention mark");
    uint64_t trimmed = ReadUint64BE(mark);
    store->trimmed_through_ = trimmed;
    if (store->next_seq_ <= trimmed) {
      store->next_seq_ = trimmed + 1;
      store->visible_seq_ = trimmed;
    }
  } else if (!ms.IsNotFound()) {
    return FromRocks(ms, "reading the change-log retention mark");
  }
  AMALGAM_LOG(kInfo, "storage") << "opened " << dir << " (change log at " << store->visible_seq_.load()
                                << ", durability " << (store->durability_ == Durability::kFsync ? "fsync" : "process")
                                << ")";
  return store;
}

void Store::RecycleTransaction(rocksdb::Transaction* txn) {
  constexpr size_t kMaxFree = 64;
  {
    std::lock_guard<std::mutex> lock(free_mu_);
    if (free_txns_.size() < kMaxFree) {
      free_txns_.push_back(txn);
      return;
    }
  }
  delete txn;
}

Store::~Store() {
  for (rocksdb::Transaction* t : free_txns_) delete t;
  free_txns_.clear();
  if (db_ == nullptr) return;
  for (rocksdb::ColumnFamilyHandle* h : cfs_) db_->DestroyColumnFamilyHandle(h);
  cfs_.clear();
  rocksdb::Status s = db_->Close();
  if (!s.ok()) AMALGAM_LOG(kWarning, "storage") << "close: " << s.ToString();
  delete db_;
}

Result<std::optional<std::string>> Store::Get(Cf c, std::string_view key, const Snapshot* snapshot) {
  rocksdb::ReadOptions ro;
  if (snapshot) ro.snapshot = snapshot->raw();
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(ro, cf(c), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read");
  return std::optional<std::string>(std::string(value.data(), value.size()));
}

Result<std::vector<std::optional<std::string>>> Store::MultiGet(Cf c, std::span<const std::string> keys,
                                                                const Snapshot* snapshot) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) return out;
  rocksdb::ReadOptions ro;
  if (snapshot) ro.snapshot = snapshot->raw();
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const std::string& k : keys) slices.emplace_back(k.data(), k.size());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  const bool sorted = std::is_sorted(keys.begin(), keys.end());
  db_->MultiGet(ro, cf(c), keys.size(), slices.data(), values.data(), statuses.data(), sorted);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return FromRocks(statuses[i], "read");
    out[i].emplace(values[i].data(), values[i].size());
  }
  return out;
}

std::shared_ptr<const Snapshot> Store::GetSnapshot() {
  uint64_t visible = LastVisibleSeq();
  return std::make_shared<Snapshot>(db_, db_->GetSnapshot(), visible);
}

std::unique_ptr<Iterator> Store::NewIterator(Cf c, std::string lower, std::string upper, const Snapshot* snapshot) {
  rocksdb::ReadOptions ro;
  if (snapshot) ro.snapshot = snapshot->raw();
  auto impl = MakeBoundedImpl(std::move(lower), std::move(upper), &ro);
  impl->it.reset(db_->NewIterator(ro, cf(c)));
  return std::make_unique<Iterator>(std::move(impl));
}

uint64_t Store::ApproximateSize(Cf c, std::string_view lower, std::string_view upper) {
  std::string hi = upper.empty() ? std::string(64, '\xff') : std::string(upper);
  rocksdb::Range range(rocksdb::Slice(lower.data(), lower.size()), rocksdb::Slice(hi));
  rocksdb::SizeApproximationOptions opts;
  opts.include_memtables = true;
  opts.include_files = true;
  uint64_t size = 0;
  if (!db_->GetApproximateSizes(opts, cf(c), &range, 1, &size).ok()) return 0;
  return size;
}

std::unique_ptr<Txn> Store::Begin(const TxnOptions& options) {
  rocksdb::WriteOptions wo;
  wo.sync = durability_ == Durability::kFsync;
  rocksdb::TransactionOptions to;
  to.lock_timeout = options.lock_timeout_ms;
  rocksdb::Transaction* old = nullptr;
  {
    std::lock_guard<std::mutex> lock(free_mu_);
    if (!free_txns_.empty()) {
      old = free_txns_.back();
      free_txns_.pop_back();
    }
  }
  rocksdb::Transaction* t = db_->BeginTransaction(wo, to, old);
  std::shared_ptr<const Snapshot> snap;
  if (options.snapshot) {
    uint64_t visible = LastVisibleSeq();  // read before the snapshot: the snapshot contains it
    t->SetSnapshot();
    // The transaction owns its RocksDB snapshot; the wrapper only reads it (db == nullptr).
    snap = std::make_shared<Snapshot>(nullptr, t->GetSnapshot(), visible);
  }
  return std::unique_ptr<Txn>(new Txn(this, t, std::move(snap)));
}

Status Store::DeleteRange(Cf c, std::string_view begin, std::string_view end) {
  rocksdb::WriteOptions wo;
  wo.sync = durability_ == Durability::kFsync;
  rocksdb::Status s = db_->GetBaseDB()->DeleteRange(wo, cf(c), rocksdb::Slice(begin.data(), begin.size()),
                                                    rocksdb::Slice(end.data(), end.size()));
  return FromRocks(s, "delete range");
}

Status Store::PutRaw(Cf c, std::string_view key, std::string_view value) {
  rocksdb::WriteOptions wo;
  wo.sync = durability_ == Durability::kFsync;
  return FromRocks(db_->Put(wo, cf(c), rocksdb::Slice(key.data(), key.size()),
                            rocksdb::Slice(value.data(), value.size())),
                   "write");
}

Status Store::Flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  return FromRocks(db_->Flush(fo, cfs_), "flush");
}

void Store::ReserveSeqs(uint32_t n, uint64_t* first, int64_t* commit_millis) {
  std::lock_guard<std::mutex> lock(seq_mu_);
  *first = next_seq_;
  next_seq_ += n;
  int64_t now = clock_->NowMillis();
  if (now < last_commit_millis_) now = last_commit_millis_;
  last_commit_millis_ = now;
  *commit_millis = now;
  inflight_.emplace(*first, false);
}

void Store::ReleaseSeqs(uint64_t first, bool committed) {
  {
    std::lock_guard<std::mutex> lock(seq_mu_);
    if (committed) {
      inflight_.erase(first);
      for (auto it = inflight_.begin(); it != inflight_.end() && it->first < first;) {
        it = it->second ? inflight_.erase(it) : std::next(it);
      }
    } else {
      inflight_[first] = true;
    }
    uint64_t visible = inflight_.empty() ? next_seq_ - 1 : inflight_.begin()->first - 1;
    visible_seq_.store(visible, std::memory_order_release);
  }
  seq_cv_.notify_all();
}

uint64_t Store::WaitForSeqAfter(uint64_t seq, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(seq_mu_);
  seq_cv_.wait_until(lock, deadline, [&] { return visible_seq_.load() > seq; });
  return visible_seq_.load();
}

Status Store::TrimChangeLog(uint64_t through) {
  std::lock_guard<std::mutex> lock(trim_mu_);
  through = std::min(through, LastVisibleSeq());
  uint64_t old = trimmed_through_.load();
  if (through <= old) return Status::OK();
  std::string value;
  AppendUint64BE(&value, through);
  AMALGAM_RETURN_IF_ERROR(PutRaw(Cf::kMeta, kTrimMarkKey, value));
  trimmed_through_.store(through, std::memory_order_release);
  std::string begin, end;
  AppendUint64BE(&begin, old + 1);
  AppendUint64BE(&end, through + 1);
  return DeleteRange(Cf::kChangeLog, begin, end);
}

uint64_t ReadUint64BE(std::string_view bytes) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[i]);
  return v;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    if (static_cast<uint8_t>(s.back()) != 0xFF) {
      s.back() = static_cast<char>(static_cast<uint8_t>(s.back()) + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

}  // namespace amalgam::storage
