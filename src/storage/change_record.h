#pragma once
// ChangeRecord: one entry of the change log (format: docs/change-log.md). Every commit appends
// one record per changed document (or one per catalog change) in the same RocksDB transaction
// as the change itself, under a strictly increasing 64-bit sequence number.

#include <cstdint>
#include <optional>
#include <string>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::storage {

// Persisted: never renumber.
enum class ChangeOp : uint8_t {
  kInsert = 1,
  kUpdate = 2,   // `update` holds the update description when the writer supplied one
  kReplace = 3,
  kDelete = 4,
  kCommand = 5,  // catalog change; `command` says which (create, drop, rename, dropDatabase,
                 // createIndexes, dropIndexes)
};

struct ChangeRecord {
  ChangeOp op = ChangeOp::kInsert;
  std::string db;
  std::string collection;
  uint64_t collection_id = 0;
  std::optional<bson::Document> document_key;  // {_id: ...} (DynamoDB: the key attributes)
  std::optional<bson::Document> post_image;    // insert, replace, update
  std::optional<bson::Document> pre_image;     // when the collection records pre-images
  std::optional<bson::Document> update;        // {updatedFields, removedFields, truncatedArrays}
  std::optional<bson::Document> command;       // kCommand: what changed
  std::optional<bson::Document> txn;           // {lsid, txnNumber} of a client transaction
  // TTL expiry and other server-initiated deletes (DynamoDB Streams' userIdentity).
  bool by_server = false;
};

// A record as read back, with the fields stamped at commit.
struct ChangeEntry {
  uint64_t seq = 0;
  int64_t commit_millis = 0;     // wall time of the commit (non-decreasing with seq)
  uint64_t commit_first_seq = 0; // first seq of the commit this record belongs to
  uint32_t commit_count = 1;     // records in that commit
  ChangeRecord record;
};

// Encodes the value stored under key seq (8 bytes big-endian) in the change-log column family.
std::string EncodeChangeEntry(const ChangeEntry& entry);
// Decodes a stored value. Errors: kDataCorruption naming what is wrong.
Result<ChangeEntry> DecodeChangeEntry(uint64_t seq, std::string_view value);

}  // namespace amalgam::storage
