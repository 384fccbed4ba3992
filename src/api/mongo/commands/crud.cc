// Write and cursor commands: insert, getMore, killCursors. (find, update, delete,
// findAndModify, count and distinct arrive with the query layer.)
#include "api/mongo/batch.h"
#include "api/mongo/command.h"
#include "api/mongo/commands/change_stream.h"
#include "api/mongo/error_reply.h"
#include "api/mongo/service.h"
#include "api/mongo/write_errors.h"
#include "bson/validate.h"
#include "engine/engine.h"

namespace amalgam::api::mongo {
namespace {

Status Insert(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_RETURN_IF_ERROR(CheckKnownFields(ctx.cmd, {"documents", "ordered"}));
  if (!ctx.HasDocuments("documents")) return MissingFieldError("insert", "documents");
  AMALGAM_ASSIGN_OR_RETURN(std::vector<bson::DocView> docs, ctx.DocumentsOf("documents"));
  if (docs.empty()) return Status(ErrorCode::kInvalidLength, "Write batch sizes must be between 1 and 100000. Got 0 operations.");
  if (docs.size() > 100000) {
    return Status(ErrorCode::kInvalidLength, "Write batch sizes must be between 1 and 100000. Got " + std::to_string(docs.size()) + " operations.");
  }
  AMALGAM_ASSIGN_OR_RETURN(bool ordered, OrderedArg(ctx));
  AMALGAM_ASSIGN_OR_RETURN(engine::HandlePtr h, ctx.engine.GetOrCreate(ctx.db, coll));
  int64_t n = 0;
  WriteErrors errors;
  for (size_t i = 0; i < docs.size(); ++i) {
    Status s;
    auto prepared = PrepareForInsert(docs[i]);
    if (!prepared.ok()) {
      s = prepared.status();
    } else {
      s = ctx.RunWrite([&](engine::WriteTxn& t) { return t.Insert(*h, prepared->view()); });
    }
    if (s.ok()) {
      ++n;
      continue;
    }
    if (FailsWholeBatch(s)) return s;
    errors.Add(i, s);
    if (ordered) break;
  }
  ctx.service.stats().insert += n;
  r.AppendInt32("n", static_cast<int32_t>(n));
  errors.AppendTo(r);
  return Status::OK();
}

Status GetMore(CommandContext& ctx, bson::Builder& r) {
  bson::Value idv = ctx.cmd.begin()->value;
  if (idv.type() != bson::BsonType::kInt64 && idv.type() != bson::BsonType::kInt32) {
    return WrongTypeError("getMore", "getMore", idv, "long");
  }
  bson::Value coll = ctx.cmd.Get("collection");
  if (coll.missing()) return MissingFieldError("getMore", "collection");
  if (coll.type() != bson::BsonType::kString) return WrongTypeError("getMore", "collection", coll, "string");
  int64_t batch_size = 0;
  bson::Value bs = ctx.cmd.Get("batchSize");
  if (!bs.missing()) {
    AMALGAM_ASSIGN_OR_RETURN(batch_size, IntegerArg(bs, "batchSize"));
    if (batch_size < 0) return Status(ErrorCode::kBadValue, "BatchSize value must be non-negative, but received: " + std::to_string(batch_size));
  }
  int64_t id = idv.type() == bson::BsonType::kInt64 ? idv.AsInt64() : idv.AsInt32();
  std::unique_ptr<Cursor> cursor = ctx.service.cursors().CheckOut(id);
  if (!cursor) return Status(ErrorCode::kCursorNotFound, "cursor id " + std::to_string(id) + " not found");
  std::string ns = ctx.db + "." + std::string(coll.AsString());
  if (cursor->ns != ns) {
    std::string have = cursor->ns;
    ctx.service.cursors().CheckIn(std::move(cursor));
    return Status(ErrorCode::kUnauthorized, "Requested getMore on namespace '" + ns + "', but cursor belongs to a different namespace " + have);
  }
  ctx.service.stats().getmore++;
  if (IsChangeStreamCursor(*cursor)) return ChangeStreamGetMore(ctx, std::move(cursor), batch_size, r);
  Status s = AppendCursorReply(ctx.service.cursors(), std::move(cursor), batch_size, "nextBatch",
                               ctx.service.clock().NowMillis(), r);
  if (!s.ok()) ctx.service.cursors().Discard(id);
  return s;
}

Status KillCursors(CommandContext& ctx, bson::Builder& r) {
  bson::Value ids = ctx.cmd.Get("cursors");
  if (ids.missing()) return MissingFieldError("killCursors", "cursors");
  if (ids.type() != bson::BsonType::kArray) return WrongTypeError("killCursors", "cursors", ids, "array");
  std::vector<int64_t> killed, not_found;
  for (const bson::Element& e : ids.AsDocument()) {
    if (e.value.type() != bson::BsonType::kInt64) return Status(ErrorCode::kTypeMismatch, "cursor ids must be longs");
    int64_t id = e.value.AsInt64();
    (ctx.service.cursors().Kill(id) ? killed : not_found).push_back(id);
  }
  auto list = [&](std::string_view name, const std::vector<int64_t>& v) {
    r.StartArray(name);
    bson::ArrayBuilder a(r);
    for (int64_t id : v) r.AppendInt64(a.Next(), id);
    r.EndArray();
  };
  list("cursorsKilled", killed);
  list("cursorsNotFound", not_found);
  list("cursorsAlive", {});
  list("cursorsUnknown", {});
  return Status::OK();
}

}  // namespace

void RegisterCrudCommands(CommandRegistry& reg) {
  reg.Add({"insert", Insert});
  reg.Add({"getMore", GetMore});
  reg.Add({"killCursors", KillCursors});
}

}  // namespace amalgam::api::mongo
