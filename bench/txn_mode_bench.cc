// txn_mode_bench: RocksDB pessimistic TransactionDB (what storage::Store uses) against
// OptimisticTransactionDB, raw RocksDB only. Both are opened with the same options; every
// transaction takes a snapshot at begin, as storage::Store::Begin does, and pessimistic
// transactions use the store's 10 ms lock timeout and 64 lock stripes.
//
//   Put/<mode>            one Put of a fresh key per transaction (threads on distinct keys)
//   InsertCheck/<mode>    GetForUpdate of an absent key, then Put (Amalgam's insert: the _id
//                         duplicate check locks the key)
//   Increment10/<mode>/N  2 threads, each transaction read-modify-writes N of the same 10 keys
//                         (N=1: one random key; N=10: all ten in a random order); failed
//                         transactions are retried at once. pessimistic_deadlock_detect also
//                         sets TransactionOptions::deadlock_detect. Counters: aborts per committed
//                         transaction; the final sum of the keys is checked against the commits.
//
// Results and the reasoning: docs/transactions.md, "Pessimistic or optimistic".

#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/optimistic_transaction_db.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>
#include <algorithm>

namespace {

constexpr int kHotKeys = 10;

void CheckRocks(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "txn_mode_bench: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

struct Dbs {
  std::string dir;
  rocksdb::TransactionDB* pess = nullptr;
  rocksdb::OptimisticTransactionDB* opt = nullptr;

  Dbs() {
    char tmpl[] = "/tmp/amalgam-txnbench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    dir = tmpl;
    rocksdb::Options options;
    options.create_if_missing = true;
    options.max_background_jobs = 2;
    options.bytes_per_sync = 1 << 20;
    rocksdb::TransactionDBOptions txn_opts;
    txn_opts.default_lock_timeout = 10;
    txn_opts.transaction_lock_timeout = 10;
    txn_opts.num_stripes = 64;
    CheckRocks(rocksdb::TransactionDB::Open(options, txn_opts, dir + "/pessimistic", &pess), "open pessimistic");
    CheckRocks(rocksdb::OptimisticTransactionDB::Open(options, dir + "/optimistic", &opt), "open optimistic");
  }
  ~Dbs() {
    delete pess;
    delete opt;
    std::filesystem::remove_all(dir);
  }
  rocksdb::DB* base(bool optimistic) { return optimistic ? opt->GetBaseDB() : pess->GetBaseDB(); }
  rocksdb::Transaction* Begin(bool optimistic, bool deadlock_detect = false) {
    rocksdb::WriteOptions wo;  // sync=false, WAL on (Durability::kProcess)
    rocksdb::Transaction* t;
    if (optimistic) {
      rocksdb::OptimisticTransactionOptions o;
      o.set_snapshot = true;
      t = opt->BeginTransaction(wo, o);
    } else {
      rocksdb::TransactionOptions o;
      o.lock_timeout = 10;
      o.deadlock_detect = deadlock_detect;
      t = pess->BeginTransaction(wo, o);
      t->SetSnapshot();
    }
    return t;
  }
};

Dbs& GetDbs() {
  static Dbs dbs;
  return dbs;
}

std::string Key(uint64_t thread, uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t%02llu-%016llu", static_cast<unsigned long long>(thread),
                static_cast<unsigned long long>(n));
  return buf;
}

std::atomic<uint64_t> g_round{0};  // makes the keys of every run and thread fresh

// Distinct keys per thread; `check` adds a GetForUpdate of the (absent) key before the Put.
template <bool kOptimistic, bool kCheck>
void PutTxn(benchmark::State& state) {
  Dbs& dbs = GetDbs();
  uint64_t base = g_round.fetch_add(1) << 32;
  const std::string value(150, 'v');
  rocksdb::ReadOptions ro;
  uint64_t n = 0;
  for (auto _ : state) {
    std::string key = Key(state.thread_index(), base + n++);
    std::unique_ptr<rocksdb::Transaction> t(dbs.Begin(kOptimistic));
    ro.snapshot = t->GetSnapshot();
    if constexpr (kCheck) {
      std::string existing;
      rocksdb::Status s = t->GetForUpdate(ro, key, &existing);
      if (!s.IsNotFound()) state.SkipWithError("key unexpectedly present");
    }
    CheckRocks(t->Put(key, value), "put");
    if (!t->Commit().ok()) state.SkipWithError("commit failed on distinct keys");
  }
  state.SetItemsProcessed(state.iterations());
}

std::atomic<uint64_t> g_commits{0};

template <bool kOptimistic, bool kDeadlockDetect = false>
void Increment10(benchmark::State& state) {
  Dbs& dbs = GetDbs();
  rocksdb::DB* db = dbs.base(kOptimistic);
  if (state.thread_index() == 0) {
    for (int k = 0; k < kHotKeys; ++k) CheckRocks(db->Put(rocksdb::WriteOptions(), Key(99, k), "0"), "reset");
    g_commits = 0;
  }
  std::mt19937_64 rng(state.thread_index() + 1);
  uint64_t aborts = 0;
  rocksdb::ReadOptions ro;
  const int keys_per_txn = static_cast<int>(state.range(0));
  std::vector<int> keys(kHotKeys);
  for (int k = 0; k < kHotKeys; ++k) keys[k] = k;
  for (auto _ : state) {
    std::shuffle(keys.begin(), keys.end(), rng);
    for (;;) {
      std::unique_ptr<rocksdb::Transaction> t(dbs.Begin(kOptimistic, kDeadlockDetect));
      ro.snapshot = t->GetSnapshot();
      rocksdb::Status s;
      for (int i = 0; i < keys_per_txn && s.ok(); ++i) {
        std::string key = Key(99, keys[i]), v;
        s = t->GetForUpdate(ro, key, &v);
        if (s.ok()) s = t->Put(key, std::to_string(std::stoull(v) + 1));
      }
      if (s.ok()) s = t->Commit();
      if (s.ok()) break;
      if (!s.IsBusy() && !s.IsTimedOut() && !s.IsTryAgain()) CheckRocks(s, "increment");
      t->Rollback().PermitUncheckedError();
      ++aborts;
    }
    g_commits.fetch_add(keys_per_txn, std::memory_order_relaxed);
  }
  state.counters["aborts_per_txn"] = benchmark::Counter(static_cast<double>(aborts), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Every thread has finished its iterations (the loop ends at a barrier).
    uint64_t sum = 0;
    for (int k = 0; k < kHotKeys; ++k) {
      std::string v;
      CheckRocks(db->Get(rocksdb::ReadOptions(), Key(99, k), &v), "read back");
      sum += std::stoull(v);
    }
    if (sum != g_commits.load()) state.SkipWithError("lost update: key sum differs from commits");
  }
}

}  // namespace

BENCHMARK_TEMPLATE(PutTxn, false, false)->Name("Put/pessimistic")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(PutTxn, true, false)->Name("Put/optimistic")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(PutTxn, false, true)->Name("InsertCheck/pessimistic")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(PutTxn, true, true)->Name("InsertCheck/optimistic")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(Increment10, false)->Name("Increment10/pessimistic")->Arg(1)->Arg(10)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(Increment10, false, true)->Name("Increment10/pessimistic_deadlock_detect")->Arg(1)->Arg(10)->Threads(2)->UseRealTime();
BENCHMARK_TEMPLATE(Increment10, true)->Name("Increment10/optimistic")->Arg(1)->Arg(10)->Threads(2)->UseRealTime();

BENCHMARK_MAIN();
