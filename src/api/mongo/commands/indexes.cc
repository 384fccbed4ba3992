// Index commands: createIndexes, dropIndexes, listIndexes.
#include "api/mongo/batch.h"
#include "api/mongo/command.h"
#include "api/mongo/service.h"
#include "bson/json.h"
#include "engine/engine.h"

namespace amalgam::api::mongo {
namespace {

Status CreateIndexes(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  bson::Value indexes = ctx.cmd.Get("indexes");
  if (indexes.missing()) return MissingFieldError("createIndexes", "indexes");
  if (indexes.type() != bson::BsonType::kArray) return WrongTypeError("createIndexes", "indexes", indexes, "array");
  if (indexes.AsDocument().empty()) return Status(ErrorCode::kBadValue, "Must specify at least one index to create");
  engine::HandlePtr before = ctx.engine.Find(ctx.db, coll);
  int32_t num_before = before ? static_cast<int32_t>(before->info->indexes.size()) : 1;
  bool created_any = false;
  for (const bson::Element& e : indexes.AsDocument()) {
    if (e.value.type() != bson::BsonType::kDocument) {
      return Status(ErrorCode::kTypeMismatch, "The elements of the 'indexes' array must be objects");
    }
    AMALGAM_ASSIGN_OR_RETURN(bool created, ctx.engine.CreateIndex(ctx.db, coll, e.value.AsDocument()));
    created_any |= created;
  }
  engine::HandlePtr after = ctx.engine.Find(ctx.db, coll);
  r.AppendInt32("numIndexesBefore", num_before);
  r.AppendInt32("numIndexesAfter", after ? static_cast<int32_t>(after->info->indexes.size()) : num_before);
  r.AppendBool("createdCollectionAutomatically", before == nullptr);
  if (!created_any) r.AppendString("note", "all indexes already exist");
  return Status::OK();
}

Status DropIndexes(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  if (!h) return Status(ErrorCode::kNamespaceNotFound, "ns not found " + ctx.db + "." + coll);
  int32_t was = static_cast<int32_t>(h->info->indexes.size());
  bson::Value index = ctx.cmd.Get("index");
  std::vector<std::string> names;
  if (index.type() == bson::BsonType::kString && index.AsString() == "*") {
    for (const catalog::IndexSpec& spec : h->info->indexes) {
      if (!spec.is_id_index) names.push_back(spec.name);
    }
  } else if (index.type() == bson::BsonType::kString) {
    names.emplace_back(index.AsString());
  } else if (index.type() == bson::BsonType::kArray) {
    for (const bson::Element& e : index.AsDocument()) {
      if (e.value.type() != bson::BsonType::kString) return Status(ErrorCode::kTypeMismatch, "dropIndexes names must be strings");
      names.emplace_back(e.value.AsString());
    }
  } else if (index.type() == bson::BsonType::kDocument) {
    const catalog::IndexSpec* found = nullptr;
    for (const catalog::IndexSpec& spec : h->info->indexes) {
      if (spec.key_pattern.bytes() == bson::Document(index.AsDocument()).bytes()) found = &spec;
    }
    if (!found) return Status(ErrorCode::kIndexNotFound, "can't find index with key: " + bson::ToShellString(index.AsDocument()));
    names.push_back(found->name);
  } else {
    return Status(ErrorCode::kTypeMismatch, "BSON field 'dropIndexes.index' is the wrong type");
  }
  for (const std::string& name : names) AMALGAM_RETURN_IF_ERROR(ctx.engine.DropIndex(ctx.db, coll, name));
  r.AppendInt32("nIndexesWas", was);
  if (index.type() == bson::BsonType::kString && index.AsString() == "*") {
    r.AppendString("msg", "non-_id indexes dropped for collection");
  }
  return Status::OK();
}

Status ListIndexes(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  AMALGAM_ASSIGN_OR_RETURN(int64_t batch_size, ListingBatchSizeArg("listIndexes", ctx.cmd.Get("cursor")));
  if (!h) return Status(ErrorCode::kNamespaceNotFound, "ns does not exist: " + ctx.db + "." + coll);
  std::vector<bson::Document> docs;
  for (const catalog::IndexSpec& spec : h->info->indexes) docs.push_back(spec.ToListing());
  return AppendListingCursor(ctx.service.cursors(), ctx.db + "." + coll, std::move(docs), batch_size,
                             ctx.conn.connection_id, ctx.service.clock().NowMillis(), r);
}

}  // namespace

void RegisterIndexCommands(CommandRegistry& reg) {
  reg.Add({"createIndexes", CreateIndexes});
  reg.Add({"dropIndexes", DropIndexes});
  reg.Add({"deleteIndexes", DropIndexes});
  reg.Add({"listIndexes", ListIndexes});
}

}  // namespace amalgam::api::mongo
