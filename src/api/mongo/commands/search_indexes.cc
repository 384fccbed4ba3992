// createSearchIndexes, updateSearchIndex, dropSearchIndex, listSearchIndexes and the inputs of
// $listSearchIndexes / $vectorSearch, with Atlas' request and reply shapes.
#include "api/mongo/commands/search_indexes.h"

#include "api/mongo/batch.h"
#include "api/mongo/service.h"
#include "engine/engine.h"
#include "engine/vector_indexes.h"
#include "query/pipeline.h"
#include "query/vector_search.h"

namespace amalgam::api::mongo {
namespace {

using bson::BsonType;

// One index description as Atlas lists it, plus Amalgam's own counters.
bson::Document DescribeIndex(const engine::VectorIndexInfo& info) {
  bson::Builder b;
  b.AppendString("id", info.id)
      .AppendString("name", info.name)
      .AppendString("type", "vectorSearch")
      .AppendString("status", engine::VectorIndexStatusName(info.status))
      .AppendBool("queryable", info.queryable)
      .StartDocument("latestDefinitionVersion")
      .AppendInt64("version", info.definition_version)
      .AppendDate("createdAt", info.created_millis)
      .EndDocument()
      .AppendDocument("latestDefinition", info.def.definition.view());
  if (info.status == engine::VectorIndexStatus::kFailed) b.AppendString("message", info.failure);
  b.AppendDouble("progress", info.progress);
  b.StartDocument("amalgamStats")
      .AppendInt64("documents", static_cast<int64_t>(info.documents))
      .AppendInt64("vectors", static_cast<int64_t>(info.vectors))
      .AppendInt64("sizeBytes", static_cast<int64_t>(info.memory_bytes))
      .AppendInt64("appliedSequence", static_cast<int64_t>(info.applied_seq))
      .AppendInt64("savedSequence", static_cast<int64_t>(info.saved_seq))
      .AppendInt64("builds", static_cast<int64_t>(info.builds))
      .AppendBool("loadedFromDisk", info.loaded_from_disk)
      .EndDocument();
  return std::move(b).Finish();
}

// The index descriptions of db.coll, optionally only the one with `name` or `id`.
std::vector<bson::Document> ListIndexes(CommandContext& ctx, const std::string& coll, bson::Value name,
                                        bson::Value id) {
  std::vector<bson::Document> out;
  for (const engine::VectorIndexInfo& info : ctx.engine.vectors().List(ctx.db, coll)) {
    if (name.type() == BsonType::kString && name.AsString() != info.name) continue;
    if (id.type() == BsonType::kString && id.AsString() != info.id) continue;
    out.push_back(DescribeIndex(info));
  }
  return out;
}

Result<engine::VectorIndexDef> ParseIndexEntry(bson::DocView entry, std::string* name) {
  bson::Value definition;
  std::string type = "search";
  *name = "default";
  for (const bson::Element& e : entry) {
    if (e.name == "name") {
      if (e.value.type() != BsonType::kString) return WrongTypeError("createSearchIndexes", "indexes.name", e.value, "string");
      *name = std::string(e.value.AsString());
    } else if (e.name == "type") {
      if (e.value.type() != BsonType::kString) return WrongTypeError("createSearchIndexes", "indexes.type", e.value, "string");
      type = std::string(e.value.AsString());
    } else if (e.name == "definition") {
      if (e.value.type() != BsonType::kDocument) {
        return WrongTypeError("createSearchIndexes", "indexes.definition", e.value, "object");
      }
      definition = e.value;
    } else {
      return Status(ErrorCode::kUnknownField,
                    "BSON field 'createSearchIndexes.indexes." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (definition.missing()) return MissingFieldError("createSearchIndexes", "indexes.definition");
  if (name->empty()) return Status(ErrorCode::kBadValue, "search index name must not be empty");
  if (type == "search") {
    return Status(ErrorCode::kNotImplemented,
                  "Atlas Search (type \"search\") indexes are not supported yet; create a \"vectorSearch\" index");
  }
  if (type != "vectorSearch") {
    return Status(ErrorCode::kBadValue, "Invalid search index type '" + type + "': must be \"search\" or \"vectorSearch\"");
  }
  return engine::ParseAtlasVectorDefinition(*name, definition.AsDocument());
}

Status CreateSearchIndexes(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  bson::Value indexes;
  for (const bson::Element& e : ctx.cmd) {
    if (e.name == "createSearchIndexes" || IsGenericArgument(e.name) || e.name == "commitQuorum") continue;
    if (e.name == "indexes") {
      if (e.value.type() != BsonType::kArray) return WrongTypeError("createSearchIndexes", "indexes", e.value, "array");
      indexes = e.value;
    } else {
      return Status(ErrorCode::kUnknownField,
                    "BSON field 'createSearchIndexes." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (indexes.missing()) return MissingFieldError("createSearchIndexes", "indexes");
  // Everything is checked before anything is created.
  std::vector<engine::VectorIndexDef> defs;
  for (const bson::Element& e : indexes.AsDocument()) {
    if (e.value.type() != BsonType::kDocument) return WrongTypeError("createSearchIndexes", "indexes", e.value, "object");
    std::string name;
    AMALGAM_ASSIGN_OR_RETURN(engine::VectorIndexDef def, ParseIndexEntry(e.value.AsDocument(), &name));
    for (const engine::VectorIndexDef& d : defs) {
      if (d.name == def.name) {
        return Status(ErrorCode::kIndexAlreadyExists, "Duplicate Index: index name \"" + def.name + "\" is given twice");
      }
    }
    defs.push_back(std::move(def));
  }
  if (!ctx.engine.catalog().Find(ctx.db, coll)) {
    return Status(ErrorCode::kNamespaceNotFound, "Collection '" + ctx.db + "." + coll + "' does not exist.");
  }
  r.StartArray("indexesCreated");
  bson::ArrayBuilder a(r);
  for (engine::VectorIndexDef& def : defs) {
    AMALGAM_ASSIGN_OR_RETURN(engine::VectorIndexInfo info, ctx.engine.vectors().Create(ctx.db, coll, std::move(def)));
    r.StartDocument(a.Next()).AppendString("id", info.id).AppendString("name", info.name).EndDocument();
  }
  r.EndArray();
  return Status::OK();
}

class ListSource final : public engine::DocumentSource {
 public:
  explicit ListSource(std::vector<bson::Document> docs) : docs_(std::move(docs)) {}
  Result<bool> Next(bson::Document* out) override {
    if (pos_ >= docs_.size()) return false;
    *out = std::move(docs_[pos_++]);
    return true;
  }

 private:
  std::vector<bson::Document> docs_;
  size_t pos_ = 0;
};

// The index named by `name` or `id` in the command (exactly one of them). Errors: kIndexNotFound.
Result<std::string> TargetIndexName(CommandContext& ctx, const std::string& coll, std::string_view command) {
  bson::Value name = ctx.cmd.Get("name"), id = ctx.cmd.Get("id");
  if (name.missing() == id.missing()) {
    return Status(ErrorCode::kInvalidOptions, std::string(command) + " requires exactly one of 'name' or 'id'");
  }
  if (!name.missing() && name.type() != BsonType::kString) return WrongTypeError(command, "name", name, "string");
  if (!id.missing() && id.type() != BsonType::kString) return WrongTypeError(command, "id", id, "string");
  if (!ctx.engine.catalog().Find(ctx.db, coll)) {
    return Status(ErrorCode::kNamespaceNotFound, "Collection '" + ctx.db + "." + coll + "' does not exist.");
  }
  for (const engine::VectorIndexInfo& info : ctx.engine.vectors().List(ctx.db, coll)) {
    if ((!name.missing() && info.name == name.AsString()) || (!id.missing() && info.id == id.AsString())) {
      return info.name;
    }
  }
  std::string which = name.missing() ? "with id '" + std::string(id.AsString()) + "'" : "'" + std::string(name.AsString()) + "'";
  return Status(ErrorCode::kIndexNotFound, "Search index " + which + " not found on " + ctx.db + "." + coll);
}

Status CheckFields(CommandContext& ctx, std::string_view command, std::initializer_list<std::string_view> allowed) {
  for (const bson::Element& e : ctx.cmd) {
    if (e.name == command || IsGenericArgument(e.name)) continue;
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || a == e.name;
    if (!ok) {
      return Status(ErrorCode::kUnknownField,
                    "BSON field '" + std::string(command) + "." + std::string(e.name) + "' is an unknown field.");
    }
  }
  return Status::OK();
}

Status UpdateSearchIndex(CommandContext& ctx, bson::Builder&) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_RETURN_IF_ERROR(CheckFields(ctx, "updateSearchIndex", {"name", "id", "definition"}));
  bson::Value definition = ctx.cmd.Get("definition");
  if (definition.missing()) return MissingFieldError("updateSearchIndex", "definition");
  if (definition.type() != BsonType::kDocument) return WrongTypeError("updateSearchIndex", "definition", definition, "object");
  AMALGAM_ASSIGN_OR_RETURN(std::string name, TargetIndexName(ctx, coll, "updateSearchIndex"));
  AMALGAM_ASSIGN_OR_RETURN(engine::VectorIndexDef def, engine::ParseAtlasVectorDefinition(name, definition.AsDocument()));
  return ctx.engine.vectors().Update(ctx.db, coll, std::move(def)).status();
}

Status DropSearchIndex(CommandContext& ctx, bson::Builder&) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_RETURN_IF_ERROR(CheckFields(ctx, "dropSearchIndex", {"name", "id"}));
  AMALGAM_ASSIGN_OR_RETURN(std::string name, TargetIndexName(ctx, coll, "dropSearchIndex"));
  return ctx.engine.vectors().Drop(ctx.db, coll, name);
}

Status ListSearchIndexes(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_RETURN_IF_ERROR(CheckFields(ctx, "listSearchIndexes", {"name", "id", "cursor"}));
  std::vector<bson::Document> docs = ListIndexes(ctx, coll, ctx.cmd.Get("name"), ctx.cmd.Get("id"));
  auto cursor = std::make_unique<Cursor>();
  cursor->ns = ctx.db + "." + coll;
  cursor->connection_id = ctx.conn.connection_id;
  cursor->source = std::make_unique<ListSource>(std::move(docs));
  return AppendCursorReply(ctx.service.cursors(), std::move(cursor), 101, "firstBatch",
                           ctx.service.clock().NowMillis(), r);
}

}  // namespace

Result<std::unique_ptr<query::Stage>> SearchStageInput(CommandContext& ctx, const std::string& coll,
                                                       std::string_view first, bson::DocView pipeline) {
  bson::Value arg = pipeline.begin()->value.AsDocument().begin()->value;
  if (first == "$listSearchIndexes") {
    bson::DocView spec = arg.AsDocument();
    return query::MakeVectorStage(ListIndexes(ctx, coll, spec.Get("name"), spec.Get("id")));
  }
  AMALGAM_ASSIGN_OR_RETURN(query::VectorSearchRequest req, query::ParseVectorSearchRequest(arg));
  return query::RunVectorSearch(ctx.engine, ctx.db, coll, req);
}

void RegisterSearchIndexCommands(CommandRegistry& reg) {
  reg.Add({"createSearchIndexes", CreateSearchIndexes});
  reg.Add({"updateSearchIndex", UpdateSearchIndex});
  reg.Add({"dropSearchIndex", DropSearchIndex});
  reg.Add({"listSearchIndexes", ListSearchIndexes});
}

}  // namespace amalgam::api::mongo
