#include "api/mongo/batch.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "api/mongo/command.h"

namespace amalgam::api::mongo {
namespace {
// Stop filling a batch once it holds this many bytes (MongoDB's 16 MiB reply limit, leaving
// room for the envelope).
constexpr size_t kMaxBatchBytes = 16 * 1024 * 1024 - 16 * 1024;

// The documents of a listing, returned in order.
class ListingSource final : public engine::DocumentSource {
 public:
  explicit ListingSource(std::vector<bson::Document> docs) : docs_(std::move(docs)) {}
  Result<bool> Next(bson::Document* out) override {
    if (next_ == docs_.size()) return false;
    *out = std::move(docs_[next_++]);
    return true;
  }

 private:
  std::vector<bson::Document> docs_;
  size_t next_ = 0;
};
}  // namespace

Status FillBatch(Cursor& cursor, int64_t batch_size, bson::Builder& out, bool* exhausted) {
  *exhausted = false;
  bson::ArrayBuilder a(out);
  size_t bytes = 0;
  while (batch_size <= 0 || a.count() < batch_size) {
    if (!cursor.pending) {
      bson::Document next;
      AMALGAM_ASSIGN_OR_RETURN(bool more, cursor.source->Next(&next));
      if (!more) {
        *exhausted = true;
        break;
      }
      cursor.pending = std::move(next);
    }
    size_t size = cursor.pending->bytes().size();
    if (a.count() > 0 && bytes + size > kMaxBatchBytes) break;
    out.AppendDocument(a.Next(), cursor.pending->view());
    bytes += size;
    cursor.pending.reset();
    if (cursor.remaining > 0 && --cursor.remaining == 0) {
      *exhausted = true;
      break;
    }
  }
  return Status::OK();
}

Status AppendCursorReply(CursorManager& manager, std::unique_ptr<Cursor> cursor, int64_t batch_size,
                         std::string_view batch_field, int64_t now_millis, bson::Builder& reply) {
  bson::Builder batch;
  batch.StartArray("b");
  bool exhausted = false;
  auto start = std::chrono::steady_clock::now();
  if (cursor->remaining_time_ms >= 0) cursor->source->SetDeadline(start + std::chrono::milliseconds(cursor->remaining_time_ms));
  Status filled = FillBatch(*cursor, batch_size, batch, &exhausted);
  if (cursor->remaining_time_ms >= 0) {
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    cursor->remaining_time_ms = std::max<int64_t>(0, cursor->remaining_time_ms - spent);
  }
  AMALGAM_RETURN_IF_ERROR(filled);
  batch.EndArray();
  bson::Document batch_doc = std::move(batch).Finish();
  std::string ns = cursor->ns;
  int64_t id = 0;
  if (exhausted) {
    if (cursor->id != 0) manager.Discard(cursor->id);
  } else {
    cursor->last_used_millis = now_millis;
    if (cursor->id != 0) {
      id = cursor->id;
      manager.CheckIn(std::move(cursor));
    } else {
      id = manager.Register(std::move(cursor));
    }
  }
  reply.StartDocument("cursor");
  reply.AppendInt64("id", id);
  reply.AppendString("ns", ns);
  reply.AppendArray(batch_field, batch_doc.view().Get("b").AsDocument());
  reply.EndDocument();
  return Status::OK();
}

}  // namespace amalgam::api::mongo

namespace amalgam::api::mongo {

Result<int64_t> ListingBatchSizeArg(std::string_view command, const bson::Value& cursor_option) {
  if (cursor_option.missing()) return int64_t{-1};
  if (cursor_option.type() != bson::BsonType::kDocument) {
    return WrongTypeError(command, "cursor", cursor_option, "object");
  }
  int64_t batch_size = -1;
  for (const bson::Element& e : cursor_option.AsDocument()) {
    if (e.name != "batchSize") {
      return Status(ErrorCode::kUnknownField,
                    "BSON field '" + std::string(command) + ".cursor." + std::string(e.name) + "' is an unknown field.");
    }
    if (!e.value.IsNumber()) return WrongTypeError(command, "cursor.batchSize", e.value, "long");
    AMALGAM_ASSIGN_OR_RETURN(batch_size, IntegerArg(e.value, "batchSize"));
    if (batch_size < 0) {
      return Status(ErrorCode::kFieldValueOutOfRange,
                    "BSON field 'batchSize' value must be >= 0, actual value '" + std::to_string(batch_size) + "'");
    }
  }
  return batch_size;
}

Status AppendListingCursor(CursorManager& manager, std::string ns, std::vector<bson::Document> docs,
                           int64_t batch_size, int64_t connection_id, int64_t now_millis, bson::Builder& reply) {
  auto cursor = std::make_unique<Cursor>();
  cursor->ns = std::move(ns);
  cursor->connection_id = connection_id;
  cursor->source = std::make_unique<ListingSource>(std::move(docs));
  if (batch_size == 0) {
    cursor->last_used_millis = now_millis;
    std::string listed_ns = cursor->ns;
    int64_t id = manager.Register(std::move(cursor));
    reply.StartDocument("cursor").AppendInt64("id", id).AppendString("ns", listed_ns).StartArray("firstBatch").EndArray().EndDocument();
    return Status::OK();
  }
  return AppendCursorReply(manager, std::move(cursor), batch_size < 0 ? 0 : batch_size, "firstBatch", now_millis, reply);
}

}  // namespace amalgam::api::mongo
