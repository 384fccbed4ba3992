#pragma once
// What the operation handlers of the DynamoDB face share: the service state (engine, clock,
// table cache, transaction tokens), the per-request context, and the handler entry points,
// one family per file (tables.cc, items.cc, query_scan.cc, batch.cc, transact.cc).
// Internal to api/dynamo.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/dynamo/json_params.h"
#include "api/dynamo/service.h"
#include "api/dynamo/table_meta.h"
#include "api/dynamo/table_stats.h"
#include "engine/engine.h"

namespace amalgam::api::dynamo {

// The reserved database holding DynamoDB tables.
inline constexpr std::string_view kDynamoDb = "dynamodb";

// A table as one request uses it: the engine handle and its decoded description (both
// immutable and shared; a concurrent DDL change publishes new ones).
struct Table {
  engine::HandlePtr handle;
  std::shared_ptr<const TableMeta> meta;
};

// Decoded TableMeta per collection, reused while the catalog entry is the same object.
// Thread-safe.
class TableCache {
 public:
  // The table, or kNamespaceNotFound (ResourceNotFoundException) "Requested resource not
  // found" (with ": Table: <name> not found" when `detailed`) when no collection made by
  // CreateTable has that name.
  Result<Table> Open(engine::Engine& engine, std::string_view name, bool detailed = false);
  // Drops the cached description of a deleted table.
  void Forget(uint64_t collection_id);

 private:
  struct Entry {
    catalog::CollectionPtr info;
    std::shared_ptr<const TableMeta> meta;  // null: not a DynamoDB table
  };
  std::mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_;  // by collection id
};

// The split points of parallel Scans per table (model/scan_segments.h): one sample of the
// table's encoded `_id`s serves every segment and page of a parallel scan, so segments stay
// disjoint and complete across pages. A sample is taken (one pass over the table's keys) when a
// table has none, or when a scan starts (no ExclusiveStartKey) after no parallel Scan used it
// for kScanSplitsIdleMillis; pages of a running scan never change it. Sampling is deterministic,
// so a restart mid-scan gives the same segments unless the table changed. Thread-safe.
class ScanSplitCache {
 public:
  static constexpr int64_t kIdleMillis = 10 * 60 * 1000;
  // The splits of collection `collection_id`; `sample` takes a new sample when needed (called
  // with no lock held but at most once at a time).
  Result<std::shared_ptr<const std::vector<std::string>>> Get(
      uint64_t collection_id, bool starting, int64_t now_millis,
      const std::function<Result<std::vector<std::string>>()>& sample);
  void Forget(uint64_t collection_id);

 private:
  struct Entry {
    std::shared_ptr<const std::vector<std::string>> splits;
    int64_t last_used_millis = 0;
  };
  std::mutex sample_mu_;  // one sampling pass at a time
  std::mutex mu_;         // guards entries_
  std::unordered_map<uint64_t, Entry> entries_;
};

// A finished TransactWriteItems, remembered for ClientRequestToken idempotency.
struct TokenRecord {
  std::string request_hash;  // of the request body minus the token
  int64_t expires_millis = 0;
  std::string response_body;
  bool in_progress = false;  // the first request with this token is still running
};

// What DescribeStream learned about one stream's log (streams.cc, FirstSeq): its first record's
// seq once found, else how far the log was scanned without finding one. Entries never change
// once written, so both stay true until retention trims past them.
struct FirstSeqMemo {
  uint64_t first = 0;
  uint64_t scanned = 0;
};

struct DynamoService::State {
  State(engine::Engine& e, Clock& c, ServiceOptions o) : engine(e), clock(c), options(std::move(o)), stats(e, c) {}
  engine::Engine& engine;
  Clock& clock;
  ServiceOptions options;
  TableCache tables;
  ScanSplitCache scan_splits;
  TableStats stats;  // ItemCount / TableSizeBytes, refreshed in the background
  std::mutex ddl_mu;  // serializes CreateTable/UpdateTable/DeleteTable/Tag* read-modify-writes

  std::mutex tokens_mu;
  std::map<std::string, TokenRecord> tokens;  // guarded by tokens_mu

  // Per stream (table cid, stream label); cleared when it grows past 10,000 streams.
  std::mutex first_seq_mu;
  std::map<std::pair<uint64_t, std::string>, FirstSeqMemo> first_seq;  // guarded by first_seq_mu
};

struct OpContext {
  DynamoService::State& state;
  Params params;
  JsonWriter& out;          // the success body: the handler writes one whole object
  std::string error_extra;  // members added to an error body, e.g. "\"Item\":{...}"
  std::string_view body;    // the raw (decompressed) request body
};

using OpHandler = Status (*)(OpContext&);

// The ARN of a table ("arn:aws:dynamodb:<region>:<account>:table/<name>").
std::string TableArn(const DynamoService::State& state, std::string_view table);
// Milliseconds since the epoch, as a JSON number of seconds ("1700000000.123").
double NowSeconds(const DynamoService::State& state);

// Control plane (tables.cc).
Status CreateTable(OpContext& ctx);
Status DescribeTable(OpContext& ctx);
Status ListTables(OpContext& ctx);
Status UpdateTable(OpContext& ctx);
Status DeleteTable(OpContext& ctx);
Status DescribeEndpoints(OpContext& ctx);
Status DescribeLimits(OpContext& ctx);
Status TagResource(OpContext& ctx);
Status UntagResource(OpContext& ctx);
Status ListTagsOfResource(OpContext& ctx);
Status UpdateTimeToLive(OpContext& ctx);
Status DescribeTimeToLive(OpContext& ctx);
Status DescribeContinuousBackups(OpContext& ctx);

// Items (items.cc).
Status PutItem(OpContext& ctx);
Status GetItem(OpContext& ctx);
Status UpdateItem(OpContext& ctx);
Status DeleteItem(OpContext& ctx);

// Query and Scan (query_scan.cc).
Status Query(OpContext& ctx);
Status Scan(OpContext& ctx);

// Batches (batch.cc) and transactions (transact.cc).
Status BatchGetItem(OpContext& ctx);
Status BatchWriteItem(OpContext& ctx);
Status TransactGetItems(OpContext& ctx);
Status TransactWriteItems(OpContext& ctx);

}  // namespace amalgam::api::dynamo
