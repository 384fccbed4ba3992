// DynamoDB Streams over the engine's change log (streams_ops.h).
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "api/dynamo/model/json.h"
#include "api/dynamo/streams_closed.h"
#include "api/dynamo/streams_ops.h"
#include "engine/change_log_index.h"

namespace amalgam::api::dynamo {
namespace {

constexpr int64_t kIteratorLifetimeMillis = 15 * 60 * 1000;
// Reads go through the engine's per-collection index of the log (engine/change_log_index.h):
// entries of other tables are skipped without being decoded, and after the first read of a
// table only its own entries are read. History from before that (a TRIM_HORIZON reader of a
// table first read now) is scanned, at most kHistoryScan log entries per read and
// kMaxReadsPerCall reads per call, so one call stays bounded on a log busy with other tables.
constexpr size_t kReadChunk = 1000;
constexpr size_t kHistoryScan = 100'000;
constexpr int kMaxReadsPerCall = 5;

// The stream's entries after `after` (at most kReadChunk), as Engine::ReadChanges answers.
Result<std::vector<storage::ChangeEntry>> ReadStream(engine::Engine& engine, uint64_t cid, uint64_t after,
                                                     uint64_t* scanned) {
  return engine.change_index().Read(cid, after, kReadChunk, scanned, kHistoryScan);
}

Status NotFound(std::string what) {
  return Status(ErrorCode::kNamespaceNotFound, "Requested resource not found: " + std::move(what));
}

std::string SeqText(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%021" PRIu64, seq);
  return buf;
}

bool ParseSeq(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 40) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Milliseconds since the epoch of a stream label ("2026-11-24T01:02:03.456").
int64_t LabelMillis(const std::string& label) {
  struct tm tm = {};
  int ms = 0;
  if (std::sscanf(label.c_str(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) < 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

std::string StreamArnOf(const DynamoService::State& state, const TableMeta& meta) {
  return TableArn(state, meta.name) + "/stream/" + meta.stream_label;
}

// One stream: the current stream of a table (open while enabled) or a closed one
// (streams_closed.h) that is still readable.
struct Stream {
  std::shared_ptr<const TableMeta> meta;  // the table as the stream knows it
  uint64_t cid = 0;
  // Closed streams: records have seq < end_seq. Open: 0.
  uint64_t end_seq = 0;
  bool open() const { return end_seq == 0; }
  // The last sequence number the stream can hold (closed streams).
  uint64_t last_seq() const { return end_seq - 1; }
};

std::string ShardIdOf(const Stream& stream) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "shardId-%020" PRId64 "-%08" PRIx64, LabelMillis(stream.meta->stream_label),
                stream.cid & 0xffffffffu);
  return buf;
}

// The stream of `table` with `label`: the table's current stream while enabled, else a closed
// one. A table disabled before closed streams were recorded (an older data directory) shows its
// last stream as closed at the current end of the log, as it read before.
Result<std::optional<Stream>> FindStream(OpContext& ctx, std::string_view name, std::string_view label) {
  auto table = ctx.state.tables.Open(ctx.state.engine, name);
  if (table.ok() && table->meta->stream_label == label && table->meta->stream_enabled) {
    return std::optional<Stream>(Stream{table->meta, table->handle->info->id, 0});
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<ClosedStream> closed, FindClosedStream(ctx.state.engine, name, label));
  if (closed) return std::optional<Stream>(Stream{closed->meta, closed->cid, closed->end_seq});
  if (table.ok() && table->meta->stream_label == label) {
    return std::optional<Stream>(
        Stream{table->meta, table->handle->info->id, ctx.state.engine.store().LastVisibleSeq() + 1});
  }
  return std::optional<Stream>();
}

// The stream of an ARN ("arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>").
Result<Stream> OpenStream(OpContext& ctx, std::string_view arn) {
  size_t t = arn.find(":table/");
  size_t s = arn.find("/stream/");
  if (t == std::string_view::npos || s == std::string_view::npos || s < t) {
    return Validation("Invalid StreamArn: " + std::string(arn));
  }
  std::string_view name = arn.substr(t + 7, s - t - 7);
  std::string_view label = arn.substr(s + 8);
  AMALGAM_ASSIGN_OR_RETURN(std::optional<Stream> stream, FindStream(ctx, name, label));
  if (!stream) return NotFound("Stream: " + std::string(arn) + " not found");
  return std::move(*stream);
}

// Whether `e` belongs to the stream.
bool InStream(const Stream& stream, int64_t since_millis, const storage::ChangeEntry& e) {
  const storage::ChangeRecord& r = e.record;
  if (r.collection_id != stream.cid || r.op == storage::ChangeOp::kCommand) return false;
  if (e.commit_millis < since_millis) return false;
  if (!stream.open() && e.seq >= stream.end_seq) return false;
  if (r.op == storage::ChangeOp::kUpdate || r.op == storage::ChangeOp::kReplace) {
    // A write that changes nothing is no event (DynamoDB publishes none).
    if (r.pre_image && r.post_image && r.pre_image->view().bytes_view() == r.post_image->view().bytes_view()) return false;
    if (r.update) {
      bson::Value u = r.update->view().Get("updatedFields");
      bson::Value d = r.update->view().Get("removedFields");
      bool none = (u.type() != bson::BsonType::kDocument || u.AsDocument().empty()) &&
                  (d.type() != bson::BsonType::kArray || d.AsDocument().empty());
      if (none && r.op == storage::ChangeOp::kUpdate) return false;
    }
  }
  return true;
}

// The first sequence number of the stream still in the log, or 0 when it has no record yet.
// Remembered per stream, so DescribeStream reads the log once from the trim horizon and later
// only what was written since the last call (not the whole shared log every time).
Result<uint64_t> FirstSeq(OpContext& ctx, const Stream& table) {
  engine::Engine& engine = ctx.state.engine;
  uint64_t trimmed = engine.store().ChangeLogTrimmedThrough();
  int64_t since = LabelMillis(table.meta->stream_label);
  DynamoService::State& state = ctx.state;
  auto key = std::make_pair(table.cid, table.meta->stream_label);
  FirstSeqMemo memo;
  {
    std::lock_guard<std::mutex> lock(state.first_seq_mu);
    auto it = state.first_seq.find(key);
    if (it != state.first_seq.end()) memo = it->second;
  }
  if (memo.first > trimmed) {
    // Checked with one point read: retention may have trimmed it since.
    AMALGAM_ASSIGN_OR_RETURN(auto at, engine.ReadChanges(memo.first - 1, 1));
    if (!at.empty() && at[0].seq == memo.first && InStream(table, since, at[0])) return memo.first;
  }
  if (memo.first != 0 || memo.scanned > engine.store().LastVisibleSeq()) memo = FirstSeqMemo{};
  uint64_t after = std::max(trimmed, memo.scanned);
  uint64_t found = 0;
  uint64_t visible = engine.store().LastVisibleSeq();
  for (int chunk = 0; chunk < 100 && found == 0; ++chunk) {
    uint64_t scanned = after;
    AMALGAM_ASSIGN_OR_RETURN(auto entries, ReadStream(engine, table.cid, after, &scanned));
    for (const storage::ChangeEntry& e : entries) {
      if (InStream(table, since, e)) {
        found = e.seq;
        break;
      }
    }
    after = std::max(after, scanned);
    if (after >= visible || (!table.open() && after >= table.last_seq())) break;
  }
  std::lock_guard<std::mutex> lock(state.first_seq_mu);
  if (state.first_seq.size() > 10000) state.first_seq.clear();  // tables come and go: stay small
  state.first_seq[key] = FirstSeqMemo{found, found ? found : after};
  return found;
}

model::Item KeyOf(const TableMeta& meta, const storage::ChangeRecord& r) {
  if (r.post_image) return model::ExtractKey(meta.key, model::ItemFromBson(meta.key, r.post_image->view()));
  if (r.pre_image) return model::ExtractKey(meta.key, model::ItemFromBson(meta.key, r.pre_image->view()));
  model::Item key;
  if (!r.document_key) return key;
  bson::Value id = r.document_key->view().Get("_id");
  if (meta.key.has_range() && id.type() == bson::BsonType::kDocument) {
    for (const bson::Element& e : id.AsDocument()) key[std::string(e.name)] = model::AttributeValueFromBson(e.value);
  } else if (!id.missing()) {
    key[meta.key.hash_name] = model::AttributeValueFromBson(id);
  }
  return key;
}

void WriteDescription(OpContext& ctx, const Stream& table, uint64_t first_seq) {
  JsonWriter& w = ctx.out;
  const TableMeta& m = *table.meta;
  w.StartObject();
  WriteKey(w, "StreamDescription");
  w.StartObject();
  WriteKey(w, "StreamArn");
  WriteString(w, StreamArnOf(ctx.state, m));
  WriteKey(w, "StreamLabel");
  WriteString(w, m.stream_label);
  WriteKey(w, "StreamStatus");
  WriteString(w, table.open() ? "ENABLED" : "DISABLED");
  WriteKey(w, "StreamViewType");
  WriteString(w, m.stream_view_type);
  WriteKey(w, "CreationRequestDateTime");
  w.Double(static_cast<double>(LabelMillis(m.stream_label)) / 1000.0);
  WriteKey(w, "TableName");
  WriteString(w, m.name);
  WriteKey(w, "KeySchema");
  w.StartArray();
  w.StartObject();
  WriteKey(w, "AttributeName");
  WriteString(w, m.key.hash_name);
  WriteKey(w, "KeyType");
  WriteString(w, "HASH");
  w.EndObject();
  if (m.key.has_range()) {
    w.StartObject();
    WriteKey(w, "AttributeName");
    WriteString(w, *m.key.range_name);
    WriteKey(w, "KeyType");
    WriteString(w, "RANGE");
    w.EndObject();
  }
  w.EndArray();
  WriteKey(w, "Shards");
  w.StartArray();
  w.StartObject();
  WriteKey(w, "ShardId");
  WriteString(w, ShardIdOf(table));
  WriteKey(w, "SequenceNumberRange");
  w.StartObject();
  // A closed shard ends at the last sequence number it can hold (the one before the catalog
  // change that closed it); an empty closed shard starts there too.
  uint64_t start = first_seq != 0 ? first_seq : ctx.state.engine.store().LastVisibleSeq() + 1;
  if (!table.open()) start = std::min(start, table.last_seq());
  WriteKey(w, "StartingSequenceNumber");
  WriteString(w, SeqText(start));
  if (!table.open()) {
    WriteKey(w, "EndingSequenceNumber");
    WriteString(w, SeqText(table.last_seq()));
  }
  w.EndObject();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndObject();
}

// Iterator text: "<table>|<label>|<after seq>|<issued ms>".
std::string MakeIterator(const TableMeta& meta, uint64_t after, int64_t issued) {
  return meta.name + "|" + meta.stream_label + "|" + std::to_string(after) + "|" + std::to_string(issued);
}

struct Iterator {
  std::string table, label;
  uint64_t after = 0;
  int64_t issued = 0;
};

Result<Iterator> ParseIterator(std::string_view text) {
  Iterator it;
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '|') {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  uint64_t issued = 0;
  if (parts.size() != 4 || !ParseSeq(parts[2], &it.after) || !ParseSeq(parts[3], &issued)) {
    return Validation("Invalid ShardIterator: it was not returned by GetShardIterator or GetRecords");
  }
  it.table = std::string(parts[0]);
  it.label = std::string(parts[1]);
  it.issued = static_cast<int64_t>(issued);
  return it;
}

int64_t NowMillis(OpContext& ctx) { return ctx.state.clock.NowMillis(); }

}  // namespace

Status ListStreams(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> table_name, ctx.params.String("TableName"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> limit, ctx.params.Int("Limit"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> start, ctx.params.String("ExclusiveStartStreamArn"));
  if (limit && (*limit < 1 || *limit > 100)) return Validation("Limit must be between 1 and 100");
  size_t max = limit ? static_cast<size_t>(*limit) : 100;
  std::map<std::string, std::shared_ptr<const TableMeta>> streams;  // by ARN
  for (const catalog::CollectionPtr& info : ctx.state.engine.catalog().ListCollections(kDynamoDb)) {
    if (table_name && info->name != *table_name) continue;
    auto table = ctx.state.tables.Open(ctx.state.engine, info->name);
    if (!table.ok() || table->meta->stream_label.empty()) continue;
    streams.emplace(StreamArnOf(ctx.state, *table->meta), table->meta);
  }
  // Closed streams stay listed until retention removes them (of deleted tables too).
  AMALGAM_ASSIGN_OR_RETURN(std::vector<ClosedStream> closed, ListClosedStreams(ctx.state.engine, table_name));
  for (const ClosedStream& c : closed) streams.emplace(StreamArnOf(ctx.state, *c.meta), c.meta);
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "Streams");
  w.StartArray();
  size_t n = 0;
  std::string last;
  bool more = false;
  for (const auto& [arn, meta] : streams) {
    if (start && arn <= *start) continue;
    if (n == max) {
      more = true;
      break;
    }
    w.StartObject();
    WriteKey(w, "StreamArn");
    WriteString(w, arn);
    WriteKey(w, "TableName");
    WriteString(w, meta->name);
    WriteKey(w, "StreamLabel");
    WriteString(w, meta->stream_label);
    w.EndObject();
    last = arn;
    ++n;
  }
  w.EndArray();
  if (more) {
    WriteKey(w, "LastEvaluatedStreamArn");
    WriteString(w, last);
  }
  w.EndObject();
  return Status::OK();
}

Status DescribeStream(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> arn, ctx.params.String("StreamArn"));
  if (!arn) return Validation("1 validation error detected: Value null at 'streamArn' failed to satisfy constraint: Member must not be null");
  AMALGAM_ASSIGN_OR_RETURN(Stream table, OpenStream(ctx, *arn));
  AMALGAM_ASSIGN_OR_RETURN(uint64_t first, FirstSeq(ctx, table));
  WriteDescription(ctx, table, first);
  return Status::OK();
}

Status GetShardIterator(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> arn, ctx.params.String("StreamArn"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> shard, ctx.params.String("ShardId"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> type, ctx.params.String("ShardIteratorType"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> seq_text, ctx.params.String("SequenceNumber"));
  if (!arn || !shard || !type) {
    return Validation("StreamArn, ShardId and ShardIteratorType are required");
  }
  AMALGAM_ASSIGN_OR_RETURN(Stream table, OpenStream(ctx, *arn));
  if (*shard != ShardIdOf(table)) return NotFound("Shard: " + std::string(*shard) + " in Stream: " + std::string(*arn));
  uint64_t after = 0;
  bool needs_seq = *type == "AT_SEQUENCE_NUMBER" || *type == "AFTER_SEQUENCE_NUMBER";
  if (needs_seq) {
    uint64_t seq = 0;
    if (!seq_text || !ParseSeq(*seq_text, &seq) || seq == 0) {
      return Validation("Invalid SequenceNumber for " + std::string(*type) + ": a sequence number of this shard is required");
    }
    if (seq <= ctx.state.engine.store().ChangeLogTrimmedThrough()) {
      return Status(ErrorCode::kChangeStreamHistoryLost,
                    "The requested sequence number " + std::string(*seq_text) + " is beyond the trim horizon of the shard");
    }
    after = *type == "AT_SEQUENCE_NUMBER" ? seq - 1 : seq;
  } else if (seq_text) {
    return Validation("SequenceNumber must not be given with ShardIteratorType " + std::string(*type));
  } else if (*type == "TRIM_HORIZON") {
    after = ctx.state.engine.store().ChangeLogTrimmedThrough();
  } else if (*type == "LATEST") {
    after = table.open() ? ctx.state.engine.store().LastVisibleSeq() : table.last_seq();
  } else {
    return Validation("1 validation error detected: Value '" + std::string(*type) +
                      "' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: "
                      "[AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
  }
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "ShardIterator");
  WriteString(w, MakeIterator(*table.meta, after, NowMillis(ctx)));
  w.EndObject();
  return Status::OK();
}

Status GetRecords(OpContext& ctx) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> text, ctx.params.String("ShardIterator"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> limit, ctx.params.Int("Limit"));
  if (!text) return Validation("1 validation error detected: Value null at 'shardIterator' failed to satisfy constraint: Member must not be null");
  if (limit && (*limit < 1 || *limit > 1000)) return Validation("Limit must be between 1 and 1000");
  size_t max = limit ? static_cast<size_t>(*limit) : 1000;
  AMALGAM_ASSIGN_OR_RETURN(Iterator it, ParseIterator(*text));
  int64_t now = NowMillis(ctx);
  if (now - it.issued > kIteratorLifetimeMillis) {
    return Status(ErrorCode::kDynamoExpiredIterator, "Iterator expired. The iterator was created at time " +
                                                         std::to_string(it.issued / 1000) +
                                                         " while right now the time is " + std::to_string(now / 1000));
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<Stream> opened, FindStream(ctx, it.table, it.label));
  if (!opened) return NotFound("Stream: " + TableArn(ctx.state, it.table) + "/stream/" + it.label + " not found");
  const Stream& table = *opened;
  const TableMeta& m = *table.meta;
  int64_t since = LabelMillis(m.stream_label);
  bool keys_only = m.stream_view_type == "KEYS_ONLY";
  bool new_image = m.stream_view_type == "NEW_IMAGE" || m.stream_view_type == "NEW_AND_OLD_IMAGES";
  bool old_image = m.stream_view_type == "OLD_IMAGE" || m.stream_view_type == "NEW_AND_OLD_IMAGES";
  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "Records");
  w.StartArray();
  size_t n = 0;
  uint64_t after = it.after;
  uint64_t visible = ctx.state.engine.store().LastVisibleSeq();
  for (int chunk = 0; chunk < kMaxReadsPerCall && n < max; ++chunk) {
    if (!table.open() && after >= table.last_seq()) break;
    uint64_t scanned = after;
    auto entries = ReadStream(ctx.state.engine, table.cid, after, &scanned);
    if (!entries.ok()) {
      if (entries.status().code() == ErrorCode::kChangeStreamHistoryLost) {
        return Status(ErrorCode::kChangeStreamHistoryLost,
                      "The operation attempted to read past the oldest stream record in a shard");
      }
      return entries.status();
    }
    bool stopped = false;
    for (const storage::ChangeEntry& e : *entries) {
      if (!InStream(table, since, e)) {
        after = e.seq;
        continue;
      }
      const storage::ChangeRecord& r = e.record;
      model::Item key = KeyOf(m, r);
      std::optional<model::Item> new_item, old_item;
      if (new_image && r.post_image && r.op != storage::ChangeOp::kDelete) {
        new_item = model::ItemFromBson(m.key, r.post_image->view());
      }
      if (old_image && r.pre_image) old_item = model::ItemFromBson(m.key, r.pre_image->view());
      size_t size = model::ItemSize(key) + (new_item ? model::ItemSize(*new_item) : 0) +
                    (old_item ? model::ItemSize(*old_item) : 0);
      w.StartObject();
      WriteKey(w, "eventID");
      char id[40];
      std::snprintf(id, sizeof id, "%016" PRIx64 "%016" PRIx64, table.cid, e.seq);
      WriteString(w, id);
      WriteKey(w, "eventName");
      WriteString(w, r.op == storage::ChangeOp::kInsert   ? "INSERT"
                     : r.op == storage::ChangeOp::kDelete ? "REMOVE"
                                                          : "MODIFY");
      WriteKey(w, "eventVersion");
      WriteString(w, "1.1");
      WriteKey(w, "eventSource");
      WriteString(w, "aws:dynamodb");
      WriteKey(w, "awsRegion");
      WriteString(w, ctx.state.options.region);
      WriteKey(w, "dynamodb");
      w.StartObject();
      WriteKey(w, "ApproximateCreationDateTime");
      w.Int64(e.commit_millis / 1000);
      WriteKey(w, "Keys");
      model::WriteItem(key, w);
      if (new_item) {
        WriteKey(w, "NewImage");
        model::WriteItem(*new_item, w);
      }
      if (old_item) {
        WriteKey(w, "OldImage");
        model::WriteItem(*old_item, w);
      }
      WriteKey(w, "SequenceNumber");
      WriteString(w, SeqText(e.seq));
      WriteKey(w, "SizeBytes");
      w.Uint64(size);
      WriteKey(w, "StreamViewType");
      WriteString(w, m.stream_view_type);
      w.EndObject();
      if (r.by_server && r.op == storage::ChangeOp::kDelete) {
        WriteKey(w, "userIdentity");
        w.StartObject();
        WriteKey(w, "Type");
        WriteString(w, "Service");
        WriteKey(w, "PrincipalId");
        WriteString(w, "dynamodb.amazonaws.com");
        w.EndObject();
      }
      w.EndObject();
      (void)keys_only;
      after = e.seq;
      if (++n == max) {
        stopped = true;
        break;
      }
    }
    if (stopped) break;
    after = std::max(after, scanned);
    if (!table.open() && after >= table.last_seq()) break;
    if (after >= visible) break;  // reached the watermark
  }
  w.EndArray();
  if (!table.open()) after = std::min(after, table.last_seq());
  // A closed shard read to its end has no next iterator (DynamoDB: the shard is closed and
  // holds nothing more).
  if (table.open() || after < table.last_seq()) {
    WriteKey(w, "NextShardIterator");
    WriteString(w, MakeIterator(m, after, now));
  }
  w.EndObject();
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
