#pragma once
// TableStats: the ItemCount / TableSizeBytes figures of DescribeTable (table and each index),
// kept per table and refreshed in the background, so that DescribeTable never scans a table.
//
// DynamoDB itself updates these figures about every six hours. Here:
// - the first time a table is described (per server process), up to kSyncItems items are
//   counted on the request thread: a table that small gets exact figures at once; a larger one
//   reports what was counted so far, and a background recount is scheduled;
// - afterwards DescribeTable answers the cached figures (O(1)) and schedules a background
//   recount when they are older than the refresh interval: 1000 x the time the last count
//   took (so recounts use at most ~0.1% of one core), at least kMinRefreshMillis and at most
//   six hours. Figures are therefore up to that interval stale, as DynamoDB's are.
// Item sizes and index projections are computed DynamoDB's way (model::ItemSize).
//
// Thread safety: every method may be called concurrently. One background thread (started on
// the first recount) runs recounts one at a time; the destructor stops and joins it.
// Ownership: borrows `engine`, which must outlive this object.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "api/dynamo/table_meta.h"
#include "common/clock.h"
#include "engine/engine.h"

namespace amalgam::api::dynamo {

struct TableFigures {
  int64_t items = 0;
  int64_t bytes = 0;
  struct Index {
    int64_t items = 0;
    int64_t bytes = 0;
  };
  std::map<std::string, Index> indexes;  // by DynamoDB index name; a missing one counts as 0
};

class TableStats {
 public:
  static constexpr int64_t kSyncItems = 10000;
  static constexpr int64_t kMinRefreshMillis = 10 * 1000;
  static constexpr int64_t kMaxRefreshMillis = 6 * 3600 * 1000;

  TableStats(engine::Engine& engine, Clock& clock) : engine_(engine), clock_(clock) {}
  ~TableStats();  // Stop()s
  TableStats(const TableStats&) = delete;
  TableStats& operator=(const TableStats&) = delete;

  // The figures of a table (see the file comment). Errors: kIOError from the first,
  // synchronous count.
  Result<TableFigures> Get(const engine::HandlePtr& handle,
                           const std::shared_ptr<const TableMeta>& meta);
  void Forget(uint64_t collection_id);
  // Drops queued recounts and joins the background thread; no recount starts afterwards (Get
  // then serves the figures it has). Call before the engine closes. Idempotent.
  void Stop();

 private:
  struct Entry {
    TableFigures figures;
    int64_t computed_millis = 0;
    int64_t refresh_millis = kMinRefreshMillis;  // age after which a recount is due
    bool complete = false;                       // false: a partial first count
    bool scheduled = false;                      // a background recount is queued or running
  };
  struct Job {
    engine::HandlePtr handle;
    std::shared_ptr<const TableMeta> meta;
  };
  // Counts up to `limit` items (0: all) of the table. Sets *complete when it reached the end.
  Result<TableFigures> Count(const Job& job, int64_t limit, bool* complete);
  void ScheduleLocked(const Job& job);  // REQUIRES: mu_ held
  void Run();

  engine::Engine& engine_;
  Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint64_t, Entry> entries_;  // by collection id
  std::deque<Job> queue_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace amalgam::api::dynamo
