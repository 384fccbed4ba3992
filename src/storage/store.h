#pragma once
// Store: the RocksDB database under a data directory — the only component that touches RocksDB.
// It owns the column families (one per kind of data), snapshots, transactions (Txn), the
// sequence numbers of the change log and its visibility watermark. Design and formats:
// docs/storage.md, docs/change-log.md.
//
// Thread safety: every method may be called from any thread concurrently.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "storage/iterator.h"

namespace rocksdb {
class Transaction;
class TransactionDB;
class ColumnFamilyHandle;
class Snapshot;
class Env;
}  // namespace rocksdb

namespace amalgam::storage {

class Txn;
struct TxnOptions;

// Column families by kind of data. Persisted by name (see docs/storage.md).
enum class Cf : uint8_t {
  kDocuments = 0,  // [collection id][encoded _id] -> BSON document
  kIndexes = 1,    // [index id][encoded key]([encoded _id]) -> type bits (+ _id for unique)
  kVectors = 2,    // vector index state
  kChangeLog = 3,  // [seq] -> change entry
  kMeta = 4,       // catalog records and counters
};
inline constexpr int kNumCfs = 5;

// What an acknowledged commit survives.
enum class Durability : uint8_t {
  kProcess,  // the WAL is written to the OS before the commit returns: survives kill -9
  kFsync,    // the WAL is fsynced before the commit returns: survives power loss
};

struct StoreOptions {
  Durability durability = Durability::kProcess;
  size_t block_cache_bytes = 256u << 20;
  Clock* clock = nullptr;       // defaults to SystemClock::Default(); must outlive the Store
  rocksdb::Env* env = nullptr;  // for tests (fault injection); must outlive the Store
  bool take_dir_lock = true;    // tests that open a directory twice in one process turn it off
};

// A consistent point-in-time view. Shared by readers (cursors keep one alive); released when
// the last owner drops it. Must not outlive its Store.
class Snapshot {
 public:
  Snapshot(rocksdb::TransactionDB* db, const rocksdb::Snapshot* snap, uint64_t visible_seq);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  const rocksdb::Snapshot* raw() const { return snap_; }
  // Every change-log entry with seq <= visible_seq() is in this snapshot.
  uint64_t visible_seq() const { return visible_seq_; }

 private:
  rocksdb::TransactionDB* db_;
  const rocksdb::Snapshot* snap_;
  uint64_t visible_seq_;
};

class Store {
 public:
  // Opens (creating if missing) the database in `dir`. Errors: kDataDirLocked if another
  // process holds the directory; kIOError / kDataCorruption from RocksDB with its message.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const StoreOptions& options);
  ~Store();  // closes RocksDB; REQUIRES: no Txn, Iterator or Snapshot of this store is alive
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Reads one key at `snapshot` (nullptr: the latest committed state). Returns nullopt when
  // absent. Errors: kIOError, kDataCorruption.
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key, const Snapshot* snapshot = nullptr);
  // Reads many keys of one column family at `snapshot` (nullptr: the latest committed state) in
  // one batched RocksDB MultiGet (one snapshot, shared block lookups): result[i] is keys[i]'s
  // value, nullopt when absent. Keys may repeat and need not be sorted (sorted input skips a
  // sort). Errors: the first failed key's, as Get maps them (kIOError, kDataCorruption).
  Result<std::vector<std::optional<std::string>>> MultiGet(Cf cf, std::span<const std::string> keys,
                                                           const Snapshot* snapshot = nullptr);

  std::shared_ptr<const Snapshot> GetSnapshot();

  // An iterator over keys in [lower, upper) (empty upper: no upper bound) at `snapshot`
  // (nullptr: a fresh implicit snapshot).
  std::unique_ptr<Iterator> NewIterator(Cf cf, std::string lower, std::string upper,
                                        const Snapshot* snapshot = nullptr);

  // Estimated bytes stored under keys in [lower, upper) (empty upper: no bound), memtables
  // included; from RocksDB's size statistics, not a scan (microseconds). For splitting scans.
  uint64_t ApproximateSize(Cf cf, std::string_view lower, std::string_view upper);

  std::unique_ptr<Txn> Begin(const TxnOptions& options);

  // Deletes every key in [begin, end) outside any transaction (for dropping data whose catalog
  // entry is already gone). Errors: kIOError.
  Status DeleteRange(Cf cf, std::string_view begin, std::string_view end);

  // Writes one key outside any transaction and outside the change log (metadata counters).
  Status PutRaw(Cf cf, std::string_view key, std::string_view value);

  // Change-log sequence numbers. Every entry <= LastVisibleSeq() is committed and no entry
  // <= it will ever appear later. 0 when the log is empty.
  uint64_t LastVisibleSeq() const { return visible_seq_.load(std::memory_order_acquire); }
  // Blocks until LastVisibleSeq() > seq or `deadline` passes. Returns LastVisibleSeq().
  uint64_t WaitForSeqAfter(uint64_t seq, std::chrono::steady_clock::time_point deadline);

  // Change-log retention (docs/change-log.md, "Retention"). Every entry with seq <=
  // ChangeLogTrimmedThrough() has been removed (0: none ever was). A reader that took its
  // snapshot before loading this value and wants entries after a seq below it has lost them.
  uint64_t ChangeLogTrimmedThrough() const { return trimmed_through_.load(std::memory_order_acquire); }
  // Removes every entry with seq <= `through` (clamped to LastVisibleSeq()): persists the new
  // mark first, then deletes the range, so no reader ever misses an entry without noticing.
  // Numbering never restarts below the mark, even if the log is left empty. Errors: kIOError.
  Status TrimChangeLog(uint64_t through);

  // Flushes memtables to SST files (for shutdown and tests).
  Status Flush();

  Clock& clock() { return *clock_; }
  Durability durability() const { return durability_; }

 private:
  friend class Txn;
  Store() = default;
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs_[static_cast<int>(c)]; }
  // Reserves `n` consecutive sequence numbers and a commit time not earlier than the last one.
  void ReserveSeqs(uint32_t n, uint64_t* first, int64_t* commit_millis);
  // Keeps a finished RocksDB transaction object for reuse by a later Begin (RocksDB can
  // re-initialize one instead of allocating a new one). Takes ownership.
  void RecycleTransaction(rocksdb::Transaction* txn);
  // Marks a reserved range finished and advances the watermark. An abandoned range (commit
  // failed) keeps holding the watermark back until a later range commits: only then is it
  // certain that a restart will not hand its numbers out again to entries a reader would skip.
  void ReleaseSeqs(uint64_t first, bool committed);

  std::unique_ptr<class DataDirLock> lock_;
  rocksdb::TransactionDB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  Clock* clock_ = nullptr;
  Durability durability_ = Durability::kProcess;

  std::mutex free_mu_;
  std::vector<rocksdb::Transaction*> free_txns_;  // finished transactions kept for reuse

  std::mutex seq_mu_;
  std::condition_variable seq_cv_;
  uint64_t next_seq_ = 1;
  int64_t last_commit_millis_ = 0;
  std::map<uint64_t, bool> inflight_;  // first seq of a reserved range -> abandoned
  std::atomic<uint64_t> visible_seq_{0};

  std::mutex trim_mu_;  // serializes TrimChangeLog
  std::atomic<uint64_t> trimmed_through_{0};
};

// Fixed-width big-endian integers: the prefixes of every key (AppendUint64BE is in
// storage/key_codec.h).
uint64_t ReadUint64BE(std::string_view bytes);  // REQUIRES: bytes.size() >= 8
// The smallest key greater than every key starting with `prefix` ("" if none exists).
std::string PrefixSuccessor(std::string_view prefix);

}  // namespace amalgam::storage
