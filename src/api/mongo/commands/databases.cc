// Database and collection commands: listDatabases, listCollections, create, drop,
// dropDatabase, renameCollection, collMod, dbStats, collStats, validate.
#include "api/mongo/batch.h"
#include "api/mongo/command.h"
#include "api/mongo/service.h"
#include "bson/json.h"
#include "engine/engine.h"

namespace amalgam::api::mongo {
namespace {

struct CollectionStats {
  int64_t count = 0;
  int64_t bytes = 0;
};

CollectionStats Measure(engine::Engine& engine, const engine::CollectionHandle& h) {
  CollectionStats s;
  auto view = engine.Read();
  auto cursor = view->Scan(h);
  bson::DocView doc;
  while (cursor->Next(&doc)) {
    ++s.count;
    s.bytes += doc.size();
  }
  return s;
}

// The simple filters drivers send to listCollections / listDatabases: {name: "x"} or
// {name: {$in: [...]}}; anything else matches everything (refined once the query layer lands).
bool NameMatches(const bson::DocView& filter, std::string_view name) {
  bson::Value f = filter.Get("name");
  if (f.missing()) return true;
  if (f.type() == bson::BsonType::kString) return f.AsString() == name;
  if (f.type() == bson::BsonType::kDocument) {
    bson::Value in = f.AsDocument().Get("$in");
    if (in.type() == bson::BsonType::kArray) {
      for (const bson::Element& e : in.AsDocument()) {
        if (e.value.type() == bson::BsonType::kString && e.value.AsString() == name) return true;
      }
      return false;
    }
    bson::Value eq = f.AsDocument().Get("$eq");
    if (eq.type() == bson::BsonType::kString) return eq.AsString() == name;
  }
  return true;
}

bson::DocView FilterArg(const CommandContext& ctx) {
  bson::Value f = ctx.cmd.Get("filter");
  return f.type() == bson::BsonType::kDocument ? f.AsDocument() : bson::DocView();
}

Status ListDatabases(CommandContext& ctx, bson::Builder& r) {
  bool name_only = TruthyValue(ctx.cmd.Get("nameOnly"));
  bson::DocView filter = FilterArg(ctx);
  int64_t total = 0;
  r.StartArray("databases");
  bson::ArrayBuilder a(r);
  for (const std::string& db : ctx.engine.catalog().ListDatabases()) {
    if (!NameMatches(filter, db)) continue;
    int64_t size = 0;
    if (!name_only) {
      for (const catalog::CollectionPtr& c : ctx.engine.catalog().ListCollections(db)) {
        if (engine::HandlePtr h = ctx.engine.Find(c->db, c->name)) size += Measure(ctx.engine, *h).bytes;
      }
    }
    total += size;
    r.StartDocument(a.Next()).AppendString("name", db);
    if (!name_only) r.AppendInt64("sizeOnDisk", size).AppendBool("empty", size == 0);
    r.EndDocument();
  }
  r.EndArray();
  if (!name_only) r.AppendInt64("totalSize", total).AppendInt64("totalSizeMb", total >> 20);
  return Status::OK();
}

Status ListCollections(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(int64_t batch_size, ListingBatchSizeArg("listCollections", ctx.cmd.Get("cursor")));
  bool name_only = TruthyValue(ctx.cmd.Get("nameOnly"));
  bson::DocView filter = FilterArg(ctx);
  std::vector<bson::Document> docs;
  for (const catalog::CollectionPtr& c : ctx.engine.catalog().ListCollections(ctx.db)) {
    if (!NameMatches(filter, c->name)) continue;
    bson::Builder b;
    b.AppendString("name", c->name).AppendString("type", "collection");
    if (!name_only) {
      b.AppendDocument("options", c->options.view());
      b.StartDocument("info").AppendBool("readOnly", false).AppendBinary("uuid", 4, c->uuid).EndDocument();
      b.StartDocument("idIndex").AppendInt32("v", 2).StartDocument("key").AppendInt32("_id", 1).EndDocument()
          .AppendString("name", "_id_").EndDocument();
    }
    docs.push_back(std::move(b).Finish());
  }
  return AppendListingCursor(ctx.service.cursors(), ctx.db + ".$cmd.listCollections", std::move(docs), batch_size,
                             ctx.conn.connection_id, ctx.service.clock().NowMillis(), r);
}

// Options `create` accepts and stores; the rest are rejected so typos do not pass silently.
bool KnownCreateOption(std::string_view name) {
  static const std::string_view kKnown[] = {"capped", "size", "max", "validator", "validationLevel", "validationAction",
                                            "changeStreamPreAndPostImages", "collation", "timeseries", "expireAfterSeconds",
                                            "clusteredIndex", "storageEngine", "indexOptionDefaults", "comment"};
  for (std::string_view k : kKnown) {
    if (k == name) return true;
  }
  return false;
}

Status Create(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  bson::Builder opts;
  bool first = true;
  for (const bson::Element& e : ctx.cmd) {
    if (first) {
      first = false;
      continue;
    }
    if (IsGenericArgument(e.name)) continue;
    if (!KnownCreateOption(e.name)) {
      return Status(ErrorCode::kUnknownField, "BSON field 'create." + std::string(e.name) + "' is an unknown field.");
    }
    opts.AppendValue(e.name, e.value);
  }
  bson::Document options = std::move(opts).Finish();
  return ctx.engine.CreateCollection(ctx.db, coll, options.view()).status();
}

Status Drop(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  if (!h) return Status::OK();  // MongoDB 7.0: dropping a missing collection succeeds
  Status s = ctx.engine.DropCollection(ctx.db, coll);
  if (s.code() == ErrorCode::kNamespaceNotFound) return Status::OK();
  AMALGAM_RETURN_IF_ERROR(s);
  r.AppendInt32("nIndexesWas", static_cast<int32_t>(h->info->indexes.size()));
  r.AppendString("ns", ctx.db + "." + coll);
  return Status::OK();
}

Status DropDatabase(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_RETURN_IF_ERROR(ctx.engine.DropDatabase(ctx.db).status());
  r.AppendString("dropped", ctx.db);
  return Status::OK();
}

Result<std::pair<std::string, std::string>> SplitNs(const bson::Value& v, std::string_view field) {
  if (v.type() != bson::BsonType::kString) {
    return Status(ErrorCode::kTypeMismatch, "BSON field 'renameCollection." + std::string(field) + "' must be a string");
  }
  std::string_view ns = v.AsString();
  size_t dot = ns.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == ns.size()) {
    return Status(ErrorCode::kInvalidNamespace, "Invalid namespace specified '" + std::string(ns) + "'");
  }
  return std::make_pair(std::string(ns.substr(0, dot)), std::string(ns.substr(dot + 1)));
}

Status RenameCollection(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(auto from, SplitNs(ctx.cmd.begin()->value, "renameCollection"));
  AMALGAM_ASSIGN_OR_RETURN(auto to, SplitNs(ctx.cmd.Get("to"), "to"));
  Status s = ctx.engine.RenameCollection(from.first, from.second, to.first, to.second, TruthyValue(ctx.cmd.Get("dropTarget")));
  if (s.code() == ErrorCode::kNamespaceNotFound) return Status(ErrorCode::kNamespaceNotFound, "Source collection " + from.first + "." + from.second + " does not exist");
  return s;
}

Status CollMod(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  if (!h) return Status(ErrorCode::kNamespaceNotFound, "ns does not exist: " + ctx.db + "." + coll);
  // Merge the given options over the stored ones.
  bson::Builder merged;
  for (const bson::Element& e : h->info->options.view()) {
    if (ctx.cmd.Get(e.name).missing()) merged.AppendValue(e.name, e.value);
  }
  bool first = true;
  for (const bson::Element& e : ctx.cmd) {
    if (first) {
      first = false;
      continue;
    }
    if (IsGenericArgument(e.name)) continue;
    if (e.name == "index") {
      return Status(ErrorCode::kNotImplemented, "collMod 'index' changes are not supported yet");
    }
    if (!KnownCreateOption(e.name)) {
      return Status(ErrorCode::kInvalidOptions, "BSON field 'collMod." + std::string(e.name) + "' is an unknown field.");
    }
    merged.AppendValue(e.name, e.value);
  }
  bson::Document options = std::move(merged).Finish();
  return ctx.engine.catalog().SetOptions(ctx.db, coll, options.view()).status();
}

Status DbStats(CommandContext& ctx, bson::Builder& r) {
  int64_t objects = 0, bytes = 0, indexes = 0, collections = 0;
  for (const catalog::CollectionPtr& c : ctx.engine.catalog().ListCollections(ctx.db)) {
    engine::HandlePtr h = ctx.engine.Find(c->db, c->name);
    if (!h) continue;
    CollectionStats s = Measure(ctx.engine, *h);
    objects += s.count;
    bytes += s.bytes;
    indexes += static_cast<int64_t>(c->indexes.size());
    ++collections;
  }
  r.AppendString("db", ctx.db);
  r.AppendInt64("collections", collections);
  r.AppendInt64("views", 0);
  r.AppendInt64("objects", objects);
  r.AppendDouble("avgObjSize", objects ? static_cast<double>(bytes) / static_cast<double>(objects) : 0.0);
  r.AppendDouble("dataSize", static_cast<double>(bytes));
  r.AppendDouble("storageSize", static_cast<double>(bytes));
  r.AppendInt64("indexes", indexes);
  r.AppendDouble("indexSize", 0.0);
  r.AppendDouble("totalSize", static_cast<double>(bytes));
  r.AppendInt32("scaleFactor", 1);
  return Status::OK();
}

Status CollStats(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  CollectionStats s = h ? Measure(ctx.engine, *h) : CollectionStats{};
  r.AppendString("ns", ctx.db + "." + coll);
  r.AppendInt64("size", s.bytes);
  r.AppendInt64("count", s.count);
  if (s.count) r.AppendInt64("avgObjSize", s.bytes / s.count);
  r.AppendInt64("storageSize", s.bytes);
  r.AppendInt32("nindexes", h ? static_cast<int32_t>(h->info->indexes.size()) : 0);
  r.AppendInt64("totalIndexSize", 0);
  r.StartDocument("indexSizes");
  if (h) {
    for (const catalog::IndexSpec& spec : h->info->indexes) r.AppendInt64(spec.name, 0);
  }
  r.EndDocument();
  return Status::OK();
}

Status Validate(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_ASSIGN_OR_RETURN(engine::ValidateReport report, ctx.engine.Validate(ctx.db, coll));
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  r.AppendString("ns", ctx.db + "." + coll);
  r.AppendInt64("nInvalidDocuments", 0);
  r.AppendInt64("nNonCompliantDocuments", 0);
  r.AppendInt64("nrecords", static_cast<int64_t>(report.documents));
  r.AppendInt32("nIndexes", h ? static_cast<int32_t>(h->info->indexes.size()) : 0);
  r.StartDocument("keysPerIndex");
  r.AppendInt64("_id_", static_cast<int64_t>(report.documents));
  for (const auto& [name, n] : report.index_entries) r.AppendInt64(name, static_cast<int64_t>(n));
  r.EndDocument();
  r.AppendBool("valid", report.valid);
  r.AppendBool("repaired", false);
  r.StartArray("warnings").EndArray();
  r.StartArray("errors");
  bson::ArrayBuilder a(r);
  for (const std::string& e : report.errors) r.AppendString(a.Next(), e);
  r.EndArray();
  r.StartArray("corruptRecords").EndArray();
  return Status::OK();
}

}  // namespace

void RegisterDatabaseCommands(CommandRegistry& reg) {
  reg.Add({"listDatabases", ListDatabases, true});
  reg.Add({"listCollections", ListCollections});
  reg.Add({"create", Create});
  reg.Add({"drop", Drop});
  reg.Add({"dropDatabase", DropDatabase});
  reg.Add({"renameCollection", RenameCollection, true});
  reg.Add({"collMod", CollMod});
  reg.Add({"dbStats", DbStats});
  reg.Add({"collStats", CollStats});
  reg.Add({"validate", Validate});
}

}  // namespace amalgam::api::mongo
