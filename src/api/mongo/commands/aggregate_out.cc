#include "api/mongo/commands/aggregate_out.h"

#include <random>

#include "bson/builder.h"
#include "api/mongo/query_request.h"
#include "api/mongo/service.h"
#include "api/mongo/session.h"
#include "engine/engine.h"
#include "query/projection.h"

namespace amalgam::api::mongo {
namespace {

using bson::BsonType;

Status Parse(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }

Status ParseNamespace(const bson::Value& v, const std::string& db, std::string_view stage, OutTarget* t) {
  if (v.type() == BsonType::kString) {
    t->db = db;
    t->coll = std::string(v.AsString());
  } else if (v.type() == BsonType::kDocument) {
    t->db = db;
    for (const bson::Element& e : v.AsDocument()) {
      if ((e.name != "db" && e.name != "coll") || e.value.type() != BsonType::kString) {
        return Parse(std::string(stage) + " target must be a string or {db: <string>, coll: <string>}");
      }
      (e.name == "db" ? t->db : t->coll) = std::string(e.value.AsString());
    }
  } else {
    return query::MongoCodedError(stage == "$out" ? 16990 : 51178,
                                  std::string(stage) + " only supports a string or object argument, not " +
                                      std::string(bson::TypeAlias(v.type())));
  }
  if (t->coll.empty()) return Status(ErrorCode::kInvalidNamespace, "Invalid " + std::string(stage) + " target namespace");
  if (t->coll.starts_with("system.")) {
    return Status(ErrorCode::kInvalidNamespace, "Invalid " + std::string(stage) + " target namespace, " + t->db + "." + t->coll);
  }
  return Status::OK();
}

Status ParseMerge(const bson::Value& v, const std::string& db, OutTarget* t) {
  t->merge = true;
  if (v.type() != BsonType::kDocument) return ParseNamespace(v, db, "$merge", t);
  bool have_into = false;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.name == "into") {
      AMALGAM_RETURN_IF_ERROR(ParseNamespace(e.value, db, "$merge", t));
      have_into = true;
    } else if (e.name == "on") {
      t->on.clear();
      if (e.value.type() == BsonType::kString) {
        t->on.emplace_back(e.value.AsString());
      } else if (e.value.type() == BsonType::kArray) {
        for (const bson::Element& f : e.value.AsDocument()) {
          if (f.value.type() != BsonType::kString) return Parse("BSON field '$merge.on' must be a string or an array of strings");
          t->on.emplace_back(f.value.AsString());
        }
      } else {
        return Parse("BSON field '$merge.on' must be a string or an array of strings");
      }
      if (t->on.size() != 1 || t->on[0] != "_id") {
        return Status(ErrorCode::kNotImplemented, "$merge 'on' fields other than _id are not supported yet");
      }
    } else if (e.name == "whenMatched") {
      if (e.value.type() == BsonType::kArray) {
        return Status(ErrorCode::kNotImplemented, "$merge whenMatched with a pipeline is not supported yet");
      }
      if (e.value.type() != BsonType::kString) return Parse("BSON field '$merge.whenMatched' must be a string");
      std::string_view m = e.value.AsString();
      if (m != "replace" && m != "keepExisting" && m != "merge" && m != "fail") {
        return Status(ErrorCode::kBadValue, "Enumeration value '" + std::string(m) + "' for field 'whenMatched' is not a valid value.");
      }
      t->when_matched = std::string(m);
    } else if (e.name == "whenNotMatched") {
      if (e.value.type() != BsonType::kString) return Parse("BSON field '$merge.whenNotMatched' must be a string");
      std::string_view m = e.value.AsString();
      if (m != "insert" && m != "discard" && m != "fail") {
        return Status(ErrorCode::kBadValue, "Enumeration value '" + std::string(m) + "' for field 'whenNotMatched' is not a valid value.");
      }
      t->when_not_matched = std::string(m);
    } else if (e.name == "let") {
      continue;  // variables only matter to the pipeline form of whenMatched
    } else {
      return Status(ErrorCode::kUnknownField, "BSON field '$merge." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (!have_into) return Status(ErrorCode::kMissingRequiredField, "BSON field '$merge.into' is missing but a required field");
  return Status::OK();
}

// Top-level fields of `update` over `base`.
bson::Document Merged(bson::DocView base, bson::DocView update) {
  bson::Builder b;
  for (const bson::Element& e : base) {
    bson::Value nv = update.Get(e.name);
    b.AppendValue(e.name, nv.missing() ? e.value : nv);
  }
  for (const bson::Element& e : update) {
    if (base.Get(e.name).missing()) b.AppendValue(e.name, e.value);
  }
  return std::move(b).Finish();
}

Status WriteMerge(CommandContext& ctx, const OutTarget& t, engine::DocumentSource& source) {
  AMALGAM_ASSIGN_OR_RETURN(engine::HandlePtr h, ctx.engine.GetOrCreate(t.db, t.coll));
  bson::Document doc;
  while (true) {
    AMALGAM_ASSIGN_OR_RETURN(bool more, source.Next(&doc));
    if (!more) break;
    AMALGAM_ASSIGN_OR_RETURN(bson::Document incoming, PrepareForInsert(doc.view()));
    bson::Value id = incoming.view().Get("_id");
    Status s = ctx.RunWrite([&](engine::WriteTxn& txn) -> Status {
      AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> existing, txn.Get(*h, id, true));
      if (!existing) {
        if (t.when_not_matched == "discard") return Status::OK();
        if (t.when_not_matched == "fail") {
          return query::MongoCodedError(13113,
                                        "$merge could not find a matching document in the target collection "
                                        "for at least one document in the source collection");
        }
        return txn.Insert(*h, incoming.view());
      }
      if (t.when_matched == "keepExisting") return Status::OK();
      if (t.when_matched == "fail") {
        return Status(ErrorCode::kDuplicateKey, "$merge failed: a document with _id " +
                                                    std::string("already exists in ") + t.db + "." + t.coll);
      }
      bson::Document after = t.when_matched == "replace" ? bson::Document(incoming.view())
                                                          : Merged(existing->view(), incoming.view());
      return txn.Update(*h, existing->view(), after.view(),
                        t.when_matched == "replace" ? storage::ChangeOp::kReplace : storage::ChangeOp::kUpdate);
    });
    AMALGAM_RETURN_IF_ERROR(s);
  }
  return Status::OK();
}

Status WriteOutReplace(CommandContext& ctx, const OutTarget& t, engine::DocumentSource& source) {
  if (ctx.txn != nullptr && ctx.in_transaction) {
    return Status(ErrorCode::kOperationNotSupportedInTransaction,
                  "$out cannot be used in a transaction");
  }
  std::mt19937_64 rng(std::random_device{}());
  std::string temp = "tmp.agg_out." + std::to_string(rng() % 1000000000);
  AMALGAM_ASSIGN_OR_RETURN(engine::HandlePtr h, ctx.engine.CreateCollection(t.db, temp, bson::DocView()));
  auto cleanup = [&] { ctx.engine.DropCollection(t.db, temp).IgnoreError(); };
  bson::Document doc;
  constexpr size_t kBatch = 1000;
  std::vector<bson::Document> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    Status s = ctx.engine
                   .RunWrite([&](engine::WriteTxn& txn) -> Status {
                     for (const bson::Document& d : batch) AMALGAM_RETURN_IF_ERROR(txn.Insert(*h, d.view()));
                     return Status::OK();
                   })
                   .status();
    batch.clear();
    return s;
  };
  while (true) {
    Result<bool> more = source.Next(&doc);
    if (!more.ok()) {
      cleanup();
      return more.status();
    }
    if (!*more) break;
    Result<bson::Document> prepared = PrepareForInsert(doc.view());
    if (!prepared.ok()) {
      cleanup();
      return prepared.status();
    }
    batch.push_back(std::move(prepared).value());
    if (batch.size() >= kBatch) {
      if (Status s = flush(); !s.ok()) {
        cleanup();
        return s;
      }
    }
  }
  if (Status s = flush(); !s.ok()) {
    cleanup();
    return s;
  }
  if (Status s = ctx.engine.RenameCollection(t.db, temp, t.db, t.coll, true); !s.ok()) {
    cleanup();
    return s;
  }
  return Status::OK();
}

}  // namespace

Result<bool> ParseOutStage(bson::DocView pipeline, const std::string& db, OutTarget* target) {
  bson::Value last;
  for (const bson::Element& e : pipeline) last = e.value;
  if (last.type() != BsonType::kDocument || last.AsDocument().CountElements() != 1) return false;
  bson::Element stage = *last.AsDocument().begin();
  if (stage.name == "$out") {
    AMALGAM_RETURN_IF_ERROR(ParseNamespace(stage.value, db, "$out", target));
    return true;
  }
  if (stage.name == "$merge") {
    AMALGAM_RETURN_IF_ERROR(ParseMerge(stage.value, db, target));
    return true;
  }
  return false;
}

Status WriteOut(CommandContext& ctx, const OutTarget& target, engine::DocumentSource& source) {
  return target.merge ? WriteMerge(ctx, target, source) : WriteOutReplace(ctx, target, source);
}

}  // namespace amalgam::api::mongo

namespace amalgam::api::mongo {
namespace {

// SHA-256 of the empty string: the uid MongoDB gives sessions when access control is off.
constexpr uint8_t kNoUserUid[32] = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                                    0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                                    0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

// $listSessions (on config.system.sessions) and $listLocalSessions (aggregate: 1): the logical
// sessions of this server, {_id: {id, uid}, lastUse}. Sessions live in this process only, so
// both list the same ones. Without access control every session belongs to no user: {} and
// {allUsers: true} list them all, {users: [...]} lists none.
Result<std::optional<std::vector<bson::Document>>> SessionListing(CommandContext& ctx, const std::string& coll,
                                                                  bool collectionless, const bson::Element& stage) {
  if (stage.name == "$listSessions" && (ctx.db != "config" || coll != "system.sessions")) {
    return Status(ErrorCode::kInvalidNamespace, "$listSessions may only be run against config.system.sessions");
  }
  if (stage.name == "$listLocalSessions" && !collectionless) {
    return Status(ErrorCode::kInvalidNamespace,
                  "$listLocalSessions must be run against the database with {aggregate: 1}, not a collection");
  }
  std::vector<bson::Document> docs;
  bson::DocView spec = stage.value.AsDocument();
  if (spec.Get("users").type() == bson::BsonType::kArray) return std::optional<std::vector<bson::Document>>(std::move(docs));
  for (const auto& [key, last_use] : ctx.service.sessions().List()) {
    bson::Builder b;
    b.StartDocument("_id");
    auto bytes = [](std::string_view v) {
      return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size());
    };
    b.AppendBinary("id", 4, bytes(std::string_view(key).substr(0, 16)));
    std::string_view uid = std::string_view(key).substr(std::min<size_t>(16, key.size()));
    b.AppendBinary("uid", 0, uid.empty() ? std::span<const uint8_t>(kNoUserUid) : bytes(uid));
    b.EndDocument();
    b.AppendDate("lastUse", last_use);
    docs.push_back(std::move(b).Finish());
  }
  return std::optional<std::vector<bson::Document>>(std::move(docs));
}

}  // namespace

Result<std::optional<std::vector<bson::Document>>> CommandSourceDocuments(CommandContext& ctx,
                                                                           const std::string& coll,
                                                                           bool collectionless,
                                                                           bson::DocView pipeline) {
  if (pipeline.empty()) return std::optional<std::vector<bson::Document>>();
  bson::Value first = pipeline.begin()->value;
  if (first.type() != bson::BsonType::kDocument || first.AsDocument().empty()) {
    return std::optional<std::vector<bson::Document>>();
  }
  bson::Element stage = *first.AsDocument().begin();
  if (stage.name == "$listSessions" || stage.name == "$listLocalSessions") {
    return SessionListing(ctx, coll, collectionless, stage);
  }
  if (collectionless) return std::optional<std::vector<bson::Document>>();
  if (stage.name != "$collStats" && stage.name != "$indexStats") return std::optional<std::vector<bson::Document>>();
  std::string host = ctx.service.options().advertised_host + ":" + std::to_string(ctx.service.options().port);
  int64_t now = ctx.service.clock().NowMillis();
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  std::vector<bson::Document> docs;
  if (stage.name == "$indexStats") {
    if (!h) return std::optional<std::vector<bson::Document>>(std::move(docs));
    for (const catalog::IndexSpec& spec : h->info->indexes) {
      bson::Document listing = spec.ToListing();
      bson::Builder b;
      b.AppendString("name", spec.name);
      b.AppendDocument("key", spec.key_pattern.view());
      b.AppendString("host", host);
      b.StartDocument("accesses").AppendInt64("ops", 0).AppendDate("since", now).EndDocument();
      b.AppendDocument("spec", listing.view());
      docs.push_back(std::move(b).Finish());
    }
    return std::optional<std::vector<bson::Document>>(std::move(docs));
  }
  bson::DocView spec = stage.value.type() == bson::BsonType::kDocument ? stage.value.AsDocument() : bson::DocView();
  bool want_count = !spec.Get("count").missing();
  bool want_storage = !spec.Get("storageStats").missing();
  if ((want_count || want_storage) && !h) {
    return Status(ErrorCode::kNamespaceNotFound, "Unable to retrieve storageStats in $collStats stage :: caused by :: "
                                                 "Collection [" + ctx.db + "." + coll + "] not found.");
  }
  int64_t n = 0, size = 0;
  if (want_count || want_storage) {
    FindOptions o;
    AMALGAM_ASSIGN_OR_RETURN(PreparedQuery q, PrepareQuery(ctx.engine, h, o, bson::DocView()));
    bson::Document d;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, q.source->Next(&d));
      if (!more) break;
      ++n;
      size += d.view().size();
    }
  }
  bson::Builder b;
  b.AppendString("ns", ctx.db + "." + coll);
  b.AppendString("host", host);
  b.AppendDate("localTime", now);
  if (want_storage) {
    b.StartDocument("storageStats")
        .AppendInt64("size", size)
        .AppendInt64("count", n)
        .AppendInt32("avgObjSize", n == 0 ? 0 : static_cast<int32_t>(size / n))
        .AppendInt64("storageSize", size)
        .AppendInt32("nindexes", static_cast<int32_t>(h->info->indexes.size()))
        .EndDocument();
  }
  if (want_count) b.StartDocument("count").AppendInt64("count", n).EndDocument();
  docs.push_back(std::move(b).Finish());
  return std::optional<std::vector<bson::Document>>(std::move(docs));
}

}  // namespace amalgam::api::mongo
