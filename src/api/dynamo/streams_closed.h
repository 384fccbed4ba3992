#pragma once
// Closed DynamoDB streams. A table's stream closes when UpdateTable disables it (or replaces
// it: re-enabling makes a new stream with a new label) and when DeleteTable deletes the table.
// As in DynamoDB, a closed stream stays listed (StreamStatus DISABLED) and readable up to the
// point where it closed until the change-log retention has trimmed past that point (24 hours
// by default); then it is gone.
//
// Each closed stream is one record in the meta column family, key "ds" + table name + '\0' +
// stream label, value {dynamodb: <TableMeta as it was>, cid, end, closed}: written outside any
// transaction right after the DDL commit, so a crash between the two loses only the record
// (the stream then reads as before this change: closed at the current end of the log).
//
// Thread safety: free functions over the engine's store; callers serialize the DDL that closes
// streams (DynamoService::State::ddl_mu).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/dynamo/table_meta.h"
#include "common/result.h"
#include "engine/engine.h"

namespace amalgam::api::dynamo {

struct ClosedStream {
  std::shared_ptr<const TableMeta> meta;  // the table as it was (name, key, label, view type)
  uint64_t cid = 0;                       // the table's collection id
  uint64_t end_seq = 0;                   // the catalog entry that closed it: records are < end_seq
  int64_t closed_millis = 0;
};

// The change-log sequence number of the first catalog entry (kCommand) of collection `cid`
// after `after_seq`: the DDL that just committed. Waits (bounded, 2 s) for the entry to become
// visible; falls back to LastVisibleSeq() + 1 if it never shows.
Result<uint64_t> CatalogEntrySeq(engine::Engine& engine, uint64_t cid, uint64_t after_seq);

// Records that `meta`'s stream (of collection `cid`) closed at `end_seq`.
Status RecordClosedStream(engine::Engine& engine, const TableMeta& meta, uint64_t cid, uint64_t end_seq,
                          int64_t now_millis);

// The closed streams still readable, of one table or of all, by table name then label. Records
// whose records retention has removed entirely are deleted on the way.
Result<std::vector<ClosedStream>> ListClosedStreams(engine::Engine& engine, std::optional<std::string_view> table);

// The closed stream of `table` with `label`, if any is still readable.
Result<std::optional<ClosedStream>> FindClosedStream(engine::Engine& engine, std::string_view table,
                                                     std::string_view label);

}  // namespace amalgam::api::dynamo
