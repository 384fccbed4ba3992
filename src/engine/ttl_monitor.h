#pragma once
// TtlMonitor: the background expirer of documents whose time to live has passed
// (docs/ttl.md). Each pass walks every collection's TTL rules:
//
//   - kIndex: a MongoDB TTL index (single field, expireAfterSeconds). Candidates come from an
//     index range scan over the dates before now - expireAfterSeconds, so a pass costs the
//     expired documents, not the collection. An array of dates expires with its earliest date;
//     a partial index expires only the documents it holds (both follow from the index keys).
//   - kAttribute: a per-document expiry computed by `expiry_millis` (the DynamoDB face's
//     TimeToLiveSpecification: epoch seconds in one attribute). Candidates come from a range
//     scan of an index on the attribute when the rule names one (`index_id` and
//     `candidate_range`), so a pass costs the expired items; else from a collection scan of at
//     most max_scan_per_pass documents, each pass going on where the previous one stopped.
//
// Every candidate is re-read and re-checked under its lock before it is deleted, so a document
// updated meanwhile survives. Deletes go through WriteTxn (indexes, change log with
// by_server = true), `batch_size` per transaction; after each batch the monitor sleeps for the
// batch's duration times `throttle_ratio`, so foreground writes keep most of the machine.
// The monitor keeps no state between passes: after a restart the next pass simply finds
// what is still expired.
//
// Thread safety: RunOnce may be called from any thread (passes are serialized); Start/Stop from
// the owner. Must not outlive its Engine; Stop (or the destructor) waits for the thread.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bson/document.h"
#include "catalog/catalog.h"
#include "common/clock.h"
#include "common/result.h"

namespace amalgam::engine {

class Engine;

struct TtlRule {
  enum class Kind : uint8_t { kIndex, kAttribute };
  Kind kind = Kind::kIndex;
  std::string name;                  // for logs: the index or attribute name
  uint64_t index_id = 0;             // kIndex; kAttribute: optional index holding the candidates
  int64_t expire_after_seconds = 0;  // kIndex
  // kAttribute: when the document expires (ms since the epoch), or nullopt for never.
  std::function<std::optional<int64_t>(bson::DocView)> expiry_millis;
  // kAttribute with index_id: the encoded index-key range [lower, upper) that holds every
  // document expired at `now_millis` (it may hold more: each candidate is re-checked with
  // expiry_millis).
  std::function<std::pair<std::string, std::string>(int64_t now_millis)> candidate_range;
  // kAttribute: the index (a createIndexes spec) that would let the rule use candidate_range,
  // when the collection lacks it (a table whose TTL predates the index). The monitor builds it
  // in its own thread, once; until then the rule scans.
  std::optional<bson::Document> wanted_index;
};

// Extra rules for a collection (the DynamoDB face registers one for tables with TTL enabled).
using TtlRuleProvider = std::function<std::vector<TtlRule>(const catalog::CollectionInfo&)>;

// The kIndex rules of a collection: its ready single-field indexes with expireAfterSeconds.
std::vector<TtlRule> IndexTtlRules(const catalog::CollectionInfo& info);

struct TtlOptions {
  int64_t interval_millis = 1000;      // time between passes (bounds the expiry delay)
  size_t batch_size = 100;             // deletes per transaction
  uint64_t max_deletes_per_pass = 100'000;  // per rule, so one huge backlog cannot starve others
  uint64_t max_scan_per_pass = 100'000;     // documents a kAttribute rule examines per pass
  double throttle_ratio = 1.0;         // sleep this many times a batch's duration after it
};

struct TtlStats {
  std::atomic<uint64_t> passes{0};
  std::atomic<uint64_t> deleted{0};
};

class TtlMonitor {
 public:
  TtlMonitor(Engine& engine, Clock& clock, TtlOptions options);
  ~TtlMonitor();
  TtlMonitor(const TtlMonitor&) = delete;
  TtlMonitor& operator=(const TtlMonitor&) = delete;

  // REQUIRES: before Start.
  void AddRuleProvider(TtlRuleProvider provider);
  void Start();
  void Stop();

  // One pass over every collection. Returns the number of documents deleted. A failing rule is
  // logged and skipped; the pass goes on with the others.
  Result<uint64_t> RunOnce();

  const TtlStats& stats() const { return stats_; }

 private:
  void Loop();
  Result<uint64_t> ExpireByIndex(const catalog::CollectionInfo& info, const TtlRule& rule);
  Result<uint64_t> ExpireByAttribute(const catalog::CollectionInfo& info, const TtlRule& rule);
  // Deletes the documents of `ids` (encoded _ids) that `expired` still says are expired.
  Result<uint64_t> DeleteBatch(const catalog::CollectionInfo& info, const std::vector<std::string>& ids,
                               const std::function<bool(bson::DocView)>& expired);
  // Builds rule.wanted_index when the collection has no index of that name (once per index).
  void BuildWantedIndex(const catalog::CollectionInfo& info, const TtlRule& rule);
  // Sleeps for `nanos` unless stopped; returns false when stopping.
  bool Pause(int64_t nanos);

  Engine& engine_;
  Clock& clock_;
  TtlOptions options_;
  std::vector<TtlRuleProvider> providers_;
  TtlStats stats_;
  // kAttribute rules without an index: the encoded _id each collection's next scan starts at
  // (guarded by pass_mu_; in memory, so a restart starts again at the beginning).
  std::map<uint64_t, std::string> scan_resume_;
  std::set<std::pair<uint64_t, std::string>> index_attempted_;  // (collection id, index name); pass_mu_
  std::mutex pass_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace amalgam::engine
