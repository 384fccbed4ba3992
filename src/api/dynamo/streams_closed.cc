// Closed DynamoDB streams (streams_closed.h).
#include "api/dynamo/streams_closed.h"

#include <chrono>
#include <span>

#include "bson/builder.h"
#include "bson/validate.h"
#include "storage/store.h"

namespace amalgam::api::dynamo {
namespace {

constexpr std::string_view kPrefix = "ds";  // meta: "ds" + table + '\0' + label -> record

std::string RecordKey(std::string_view table, std::string_view label) {
  std::string key(kPrefix);
  key.append(table);
  key.push_back('\0');
  key.append(label);
  return key;
}

Result<ClosedStream> DecodeRecord(std::string_view value) {
  auto doc = bson::ValidateDocument(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(value.data()), value.size()));
  if (!doc.ok()) return Status(ErrorCode::kDataCorruption, "closed stream record: " + std::string(doc.status().message()));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<TableMeta> meta, DecodeTableMeta(*doc));
  bson::Value cid = doc->Get("cid");
  bson::Value end = doc->Get("end");
  bson::Value closed = doc->Get("closed");
  if (!meta || cid.type() != bson::BsonType::kInt64 || end.type() != bson::BsonType::kInt64 ||
      closed.type() != bson::BsonType::kDate) {
    return Status(ErrorCode::kDataCorruption, "closed stream record: missing dynamodb, cid, end or closed");
  }
  ClosedStream s;
  s.meta = std::make_shared<const TableMeta>(std::move(*meta));
  s.cid = static_cast<uint64_t>(cid.AsInt64());
  s.end_seq = static_cast<uint64_t>(end.AsInt64());
  s.closed_millis = closed.AsDateMillis();
  return s;
}

// Whether retention has removed every record the stream can have.
bool Expired(engine::Engine& engine, const ClosedStream& s) {
  return s.end_seq <= engine.store().ChangeLogTrimmedThrough() + 1;
}

}  // namespace

Result<uint64_t> CatalogEntrySeq(engine::Engine& engine, uint64_t cid, uint64_t after_seq) {
  storage::Store& store = engine.store();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  uint64_t after = after_seq;
  for (int round = 0; round < 10000; ++round) {
    uint64_t scanned = after;
    auto entries = engine.ReadChanges(after, 256, &scanned);
    if (!entries.ok()) return entries.status();
    for (const storage::ChangeEntry& e : *entries) {
      if (e.record.op == storage::ChangeOp::kCommand && e.record.collection_id == cid) return e.seq;
    }
    after = scanned;
    if (entries->size() == 256) continue;
    if (std::chrono::steady_clock::now() >= deadline) break;
    store.WaitForSeqAfter(after, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
  }
  return store.LastVisibleSeq() + 1;
}

Status RecordClosedStream(engine::Engine& engine, const TableMeta& meta, uint64_t cid, uint64_t end_seq,
                          int64_t now_millis) {
  TableMeta was = meta;
  was.stream_enabled = false;
  bson::Builder b;
  b.AppendDocument("dynamodb", EncodeTableMeta(was).view());
  b.AppendInt64("cid", static_cast<int64_t>(cid));
  b.AppendInt64("end", static_cast<int64_t>(end_seq));
  b.AppendDate("closed", now_millis);
  bson::Document doc = std::move(b).Finish();
  return engine.store().PutRaw(storage::Cf::kMeta, RecordKey(meta.name, meta.stream_label), doc.bytes());
}

Result<std::vector<ClosedStream>> ListClosedStreams(engine::Engine& engine, std::optional<std::string_view> table) {
  storage::Store& store = engine.store();
  std::string prefix = table ? RecordKey(*table, "") : std::string(kPrefix);
  std::vector<ClosedStream> out;
  std::vector<std::string> stale;
  {
    auto it = store.NewIterator(storage::Cf::kMeta, prefix, storage::PrefixSuccessor(prefix));
    for (it->Seek(prefix); it->Valid(); it->Next()) {
      AMALGAM_ASSIGN_OR_RETURN(ClosedStream s, DecodeRecord(it->value()));
      if (Expired(engine, s)) {
        stale.emplace_back(it->key());
        continue;
      }
      out.push_back(std::move(s));
    }
    AMALGAM_RETURN_IF_ERROR(it->status());
  }
  for (const std::string& key : stale) {
    AMALGAM_RETURN_IF_ERROR(store.DeleteRange(storage::Cf::kMeta, key, key + '\0'));
  }
  return out;
}

Result<std::optional<ClosedStream>> FindClosedStream(engine::Engine& engine, std::string_view table,
                                                     std::string_view label) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string> value,
                           engine.store().Get(storage::Cf::kMeta, RecordKey(table, label)));
  if (!value) return std::optional<ClosedStream>();
  AMALGAM_ASSIGN_OR_RETURN(ClosedStream s, DecodeRecord(*value));
  if (Expired(engine, s)) return std::optional<ClosedStream>();
  return std::optional<ClosedStream>(std::move(s));
}

}  // namespace amalgam::api::dynamo
