// Write commands driven by a query: delete (and, with the update language, update and
// findAndModify). Matching documents are collected from a snapshot first, then changed in
// transactions of at most kChunk documents, each re-read under a lock and re-matched, so a
// document changed in between is judged by its current version (MongoDB's multi-document
// writes are not atomic either; each document is).
#include "api/mongo/command.h"
#include "api/mongo/error_reply.h"
#include "api/mongo/query_request.h"
#include "api/mongo/service.h"
#include "api/mongo/write_errors.h"
#include "engine/engine.h"
#include "query/matcher.h"
#include "query/plan.h"
#include "query/projection.h"
#include "query/sort.h"
#include "query/update.h"
#include "storage/key_codec.h"

namespace amalgam::api::mongo {
namespace {

constexpr size_t kChunk = 500;

// The encoded _ids of documents matching `filter` (at most `limit`, 0: all), from a snapshot
// (or from the command's transaction, which sees its own writes).
Result<std::vector<std::string>> CollectMatches(CommandContext& ctx, engine::HandlePtr coll, bson::DocView filter,
                                                bson::Value hint, int64_t limit, const query::Matcher& matcher) {
  query::PlanRequest req;
  req.coll = coll.get();
  req.filter = filter;
  req.hint = hint;
  AMALGAM_ASSIGN_OR_RETURN(query::Plan plan, query::PlanQuery(req));
  auto view = ctx.txn ? nullptr : ctx.engine.Read();
  query::ReadSource src;
  src.view = view.get();
  src.txn = ctx.txn;
  query::ExecStats stats;
  auto stage = query::MakeAccessStage(src, coll, plan, std::make_shared<const query::Matcher>(matcher), &stats);
  std::vector<std::string> ids;
  query::Row row;
  while (limit <= 0 || static_cast<int64_t>(ids.size()) < limit) {
    AMALGAM_ASSIGN_OR_RETURN(bool more, stage->Next(&row));
    if (!more) break;
    ids.push_back(std::move(row.encoded_id));
  }
  return ids;
}

// The candidates of a filter that pins them to listed _id values (equality, $eq or $in on _id
// in the top-level conjunction: the planner's _id lookup), in ascending encoded order, when no
// hint asks for another access path. A write reads each one under its lock and re-matches it
// there, so the snapshot read that CollectMatches would make first is skipped: for a statement
// like {q: {_id: X}} that read was half the statement's cost. nullopt: plan and read as usual.
// Unlike the snapshot read, the locked read also locks an _id that has no document (released
// when the write or its transaction ends).
std::optional<std::vector<std::string>> IdCandidates(bson::DocView filter, bson::Value hint) {
  if (!hint.missing()) return std::nullopt;
  return query::IdLookupCandidates(filter);
}

struct DeleteSpec {
  bson::Document q;
  int64_t limit = 0;
  bson::Document hint_holder;
};

Result<DeleteSpec> ParseDeleteSpec(bson::DocView d) {
  DeleteSpec s;
  bool have_q = false, have_limit = false;
  for (const bson::Element& e : d) {
    if (e.name == "q") {
      if (e.value.type() != bson::BsonType::kDocument) return WrongTypeError("delete.deletes", "q", e.value, "object");
      s.q = bson::Document(e.value.AsDocument());
      have_q = true;
    } else if (e.name == "limit") {
      AMALGAM_ASSIGN_OR_RETURN(s.limit, IntegerArg(e.value, "limit"));
      if (s.limit != 0 && s.limit != 1) {
        return Status(ErrorCode::kFailedToParse, "The limit field in delete objects must be 0 or 1. Got " + std::to_string(s.limit));
      }
      have_limit = true;
    } else if (e.name == "hint") {
      bson::Builder b;
      b.AppendValue("h", e.value);
      s.hint_holder = std::move(b).Finish();
    } else if (e.name == "collation" || e.name == "comment") {
    } else {
      return Status(ErrorCode::kUnknownField, "BSON field 'delete.deletes." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (!have_q) return MissingFieldError("delete.deletes", "q");
  if (!have_limit) return MissingFieldError("delete.deletes", "limit");
  return s;
}

// Deletes the documents matching one spec. Returns how many.
Result<int64_t> RunDelete(CommandContext& ctx, engine::HandlePtr coll, const DeleteSpec& spec) {
  AMALGAM_ASSIGN_OR_RETURN(query::Matcher matcher, query::Matcher::Compile(spec.q.view(), query::MatchContext{}));
  bson::Value hint = spec.hint_holder.view().Get("h");
  std::optional<std::vector<std::string>> by_id = IdCandidates(spec.q.view(), hint);
  const bool authoritative = by_id.has_value();
  // With limit 1 a candidate may stop matching before we lock it: look further then (not
  // needed when the candidates are all the _ids the filter allows).
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::vector<std::string> ids;
    if (by_id) {
      ids = std::move(*by_id);
    } else {
      AMALGAM_ASSIGN_OR_RETURN(ids, CollectMatches(ctx, coll, spec.q.view(), hint, spec.limit, matcher));
    }
    int64_t deleted = 0;
    for (size_t start = 0; start < ids.size() && (spec.limit == 0 || deleted == 0); start += kChunk) {
      size_t end = std::min(ids.size(), start + kChunk);
      int64_t n = 0;
      Status r = ctx.RunWrite([&](engine::WriteTxn& t) -> Status {
        n = 0;
        for (size_t i = start; i < end && (spec.limit == 0 || n == 0); ++i) {
          AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, t.GetByEncodedId(*coll, ids[i], true));
          if (!doc || !matcher.Matches(doc->view())) continue;
          AMALGAM_RETURN_IF_ERROR(t.Delete(*coll, doc->view()));
          ++n;
        }
        return Status::OK();
      });
      AMALGAM_RETURN_IF_ERROR(r);
      deleted += n;
    }
    if (authoritative || spec.limit == 0 || deleted > 0 || ids.empty()) return deleted;
  }
  return int64_t{0};
}

Status Delete(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_RETURN_IF_ERROR(CheckKnownFields(ctx.cmd, {"deletes", "ordered", "let"}));
  if (!ctx.HasDocuments("deletes")) return MissingFieldError("delete", "deletes");
  AMALGAM_ASSIGN_OR_RETURN(std::vector<bson::DocView> deletes, ctx.DocumentsOf("deletes"));
  if (deletes.empty() || deletes.size() > 100000) {
    return Status(ErrorCode::kInvalidLength, "Write batch sizes must be between 1 and 100000. Got " +
                                                 std::to_string(deletes.size()) + " operations.");
  }
  AMALGAM_ASSIGN_OR_RETURN(bool ordered, OrderedArg(ctx));
  // Malformed statements fail the whole command before anything is deleted, as in MongoDB.
  std::vector<DeleteSpec> specs;
  for (bson::DocView d : deletes) {
    AMALGAM_ASSIGN_OR_RETURN(DeleteSpec spec, ParseDeleteSpec(d));
    specs.push_back(std::move(spec));
  }
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  int64_t n = 0;
  WriteErrors errors;
  for (size_t i = 0; i < specs.size(); ++i) {
    Result<int64_t> deleted = h ? RunDelete(ctx, h, specs[i]) : Result<int64_t>(int64_t{0});
    if (deleted.ok()) {
      n += *deleted;
      continue;
    }
    const Status& s = deleted.status();
    if (FailsWholeBatch(s)) return s;
    errors.Add(i, s);
    if (ordered) break;
  }
  ctx.service.stats().remove += n;
  r.AppendInt32("n", static_cast<int32_t>(n));
  errors.AppendTo(r);
  return Status::OK();
}

// ---- update ----

struct UpdateSpec {
  bson::Document q;
  bson::Document u_holder;  // {u: <document or pipeline array>}
  bool upsert = false;
  bool multi = false;
  std::vector<bson::Document> array_filters;
  bson::Document hint_holder;
};

Result<UpdateSpec> ParseUpdateSpec(bson::DocView d) {
  UpdateSpec s;
  bool have_q = false, have_u = false;
  for (const bson::Element& e : d) {
    const bson::Value& v = e.value;
    if (e.name == "q") {
      if (v.type() != bson::BsonType::kDocument) return WrongTypeError("update.updates", "q", v, "object");
      s.q = bson::Document(v.AsDocument());
      have_q = true;
    } else if (e.name == "u") {
      if (v.type() != bson::BsonType::kDocument && v.type() != bson::BsonType::kArray) {
        return Status(ErrorCode::kFailedToParse, "Update argument must be either an object or an array");
      }
      bson::Builder b;
      b.AppendValue("u", v);
      s.u_holder = std::move(b).Finish();
      have_u = true;
    } else if (e.name == "upsert") {
      s.upsert = TruthyValue(v);
    } else if (e.name == "multi") {
      s.multi = TruthyValue(v);
    } else if (e.name == "arrayFilters") {
      if (v.type() != bson::BsonType::kArray) return Status(ErrorCode::kTypeMismatch, "arrayFilters must be an array");
      for (const bson::Element& f : v.AsDocument()) {
        if (f.value.type() != bson::BsonType::kDocument) return Status(ErrorCode::kTypeMismatch, "arrayFilters entries must be objects");
        s.array_filters.emplace_back(f.value.AsDocument());
      }
    } else if (e.name == "hint") {
      bson::Builder b;
      b.AppendValue("h", v);
      s.hint_holder = std::move(b).Finish();
    } else if (e.name == "collation" || e.name == "c" || e.name == "comment" || e.name == "upsertSupplied") {
    } else {
      return Status(ErrorCode::kUnknownField, "BSON field 'update.updates." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (!have_q) return MissingFieldError("update.updates", "q");
  if (!have_u) return MissingFieldError("update.updates", "u");
  return s;
}

Result<query::Update> CompileUpdate(const UpdateSpec& spec) {
  query::UpdateOptions opts;
  for (const bson::Document& f : spec.array_filters) opts.array_filters.push_back(f.view());
  opts.is_upsert = spec.upsert;
  AMALGAM_ASSIGN_OR_RETURN(query::Update u, query::Update::Compile(spec.u_holder.view().Get("u"), opts));
  if (spec.multi && u.kind() == query::Update::Kind::kReplacement) {
    return Status(ErrorCode::kFailedToParse, "multi update is not supported for replacement-style update");
  }
  return u;
}

// The document an upsert inserts, _id first (generated when neither query nor update gives one).
Result<bson::Document> UpsertDocument(const query::Update& update, bson::DocView q, int64_t now) {
  bson::Document seed;
  if (update.kind() == query::Update::Kind::kReplacement) {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document from_query, query::Update::SeedUpsert(q));
    bson::Builder b;
    b.AppendValue("_id", from_query.view().Get("_id"));
    seed = std::move(b).Finish();
  } else {
    AMALGAM_ASSIGN_OR_RETURN(seed, query::Update::SeedUpsert(q));
  }
  query::ApplyContext ctx;
  ctx.now_millis = now;
  ctx.is_insert = true;
  AMALGAM_ASSIGN_OR_RETURN(bson::Document doc, update.Apply(seed.view(), ctx));
  if (!doc.view().Get("_id").missing()) return doc;
  bson::Builder b;
  auto oid = bson::NewObjectId();
  b.AppendObjectId("_id", std::span<const uint8_t, 12>(oid.data(), 12));
  b.AppendElements(doc.view());
  return std::move(b).Finish();
}

struct UpdateOutcome {
  int64_t matched = 0;
  int64_t modified = 0;
  std::optional<bson::Document> upserted_id;  // {_id: ...}
};

// Applies `update` to the document with `encoded_id` if it still matches. Returns whether it
// matched; counts into `out`.
Status UpdateOne(engine::WriteTxn& t, const engine::CollectionHandle& coll, std::string_view encoded_id,
                 const query::Matcher& matcher, const query::Update& update, int64_t now, UpdateOutcome* out,
                 bson::Document* before_out = nullptr, bson::Document* after_out = nullptr) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, t.GetByEncodedId(coll, encoded_id, true));
  if (!doc) return Status::OK();
  query::MatchDetails details;
  AMALGAM_ASSIGN_OR_RETURN(bool matches, matcher.Evaluate(doc->view(), &details));
  if (!matches) return Status::OK();
  out->matched++;
  query::ApplyContext ctx;
  ctx.now_millis = now;
  ctx.match_details = &details;
  query::UpdateResultInfo info;
  AMALGAM_ASSIGN_OR_RETURN(bson::Document after, update.Apply(doc->view(), ctx, &info));
  if (info.modified) {
    storage::ChangeOp op = update.kind() == query::Update::Kind::kReplacement ? storage::ChangeOp::kReplace
                                                                               : storage::ChangeOp::kUpdate;
    std::optional<bson::Document> desc;
    if (op == storage::ChangeOp::kUpdate) desc = std::move(info.description);
    AMALGAM_RETURN_IF_ERROR(t.Update(coll, doc->view(), after.view(), op, std::move(desc)));
    out->modified++;
  }
  if (before_out) *before_out = std::move(*doc);
  if (after_out) *after_out = std::move(after);
  return Status::OK();
}

// The last update a command compiled: the statements of a bulk often carry the same update
// ({$inc: {n: 1}} on different _ids), which is then compiled once. Only updates without
// arrayFilters are kept; the key is the update's bytes and the flags that change compiling.
struct CompiledUpdateCache {
  std::optional<query::Update> update;
  std::string u_bytes;  // empty: `update` is not to be reused
  bool upsert = false, multi = false;

  Result<const query::Update*> Get(const UpdateSpec& spec) {
    const std::string& bytes = spec.u_holder.bytes();
    bool cacheable = spec.array_filters.empty();
    if (cacheable && update && !u_bytes.empty() && upsert == spec.upsert && multi == spec.multi && u_bytes == bytes) {
      return &*update;
    }
    AMALGAM_ASSIGN_OR_RETURN(query::Update compiled, CompileUpdate(spec));
    update = std::move(compiled);
    u_bytes = cacheable ? bytes : std::string();
    upsert = spec.upsert;
    multi = spec.multi;
    return &*update;
  }
};

Result<UpdateOutcome> RunUpdate(CommandContext& ctx, const std::string& coll_name, const UpdateSpec& spec,
                                CompiledUpdateCache& cache) {
  AMALGAM_ASSIGN_OR_RETURN(const query::Update* compiled, cache.Get(spec));
  const query::Update& update = *compiled;
  AMALGAM_ASSIGN_OR_RETURN(query::Matcher matcher, query::Matcher::Compile(spec.q.view(), query::MatchContext{}));
  engine::HandlePtr coll = ctx.engine.Find(ctx.db, coll_name);
  if (!coll && spec.upsert) {
    AMALGAM_ASSIGN_OR_RETURN(coll, ctx.engine.GetOrCreate(ctx.db, coll_name));
  }
  UpdateOutcome out;
  if (!coll) return out;
  int64_t now = ctx.service.clock().NowMillis();
  bson::Value hint = spec.hint_holder.view().Get("h");
  std::optional<std::vector<std::string>> by_id = IdCandidates(spec.q.view(), hint);
  const bool authoritative = by_id.has_value();
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::vector<std::string> ids;
    if (by_id) {
      ids = std::move(*by_id);
    } else {
      AMALGAM_ASSIGN_OR_RETURN(ids, CollectMatches(ctx, coll, spec.q.view(), hint, spec.multi ? 0 : 1, matcher));
    }
    for (size_t start = 0; start < ids.size() && (spec.multi || out.matched == 0); start += kChunk) {
      size_t end = std::min(ids.size(), start + kChunk);
      UpdateOutcome chunk;
      Status r = ctx.RunWrite([&](engine::WriteTxn& t) -> Status {
        chunk = UpdateOutcome();
        for (size_t i = start; i < end && (spec.multi || chunk.matched == 0); ++i) {
          AMALGAM_RETURN_IF_ERROR(UpdateOne(t, *coll, ids[i], matcher, update, now, &chunk));
        }
        return Status::OK();
      });
      AMALGAM_RETURN_IF_ERROR(r);
      out.matched += chunk.matched;
      out.modified += chunk.modified;
    }
    if (authoritative || spec.multi || out.matched > 0 || ids.empty()) break;
  }
  if (out.matched == 0 && spec.upsert) {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document doc, UpsertDocument(update, spec.q.view(), now));
    AMALGAM_RETURN_IF_ERROR(ctx.RunWrite([&](engine::WriteTxn& t) { return t.Insert(*coll, doc.view()); }));
    bson::Builder b;
    b.AppendValue("_id", doc.view().Get("_id"));
    out.upserted_id = std::move(b).Finish();
  }
  return out;
}

Status UpdateCmd(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_RETURN_IF_ERROR(CheckKnownFields(ctx.cmd, {"updates", "ordered", "let"}));
  if (!ctx.HasDocuments("updates")) return MissingFieldError("update", "updates");
  AMALGAM_ASSIGN_OR_RETURN(std::vector<bson::DocView> updates, ctx.DocumentsOf("updates"));
  if (updates.empty() || updates.size() > 100000) {
    return Status(ErrorCode::kInvalidLength, "Write batch sizes must be between 1 and 100000. Got " +
                                                 std::to_string(updates.size()) + " operations.");
  }
  AMALGAM_ASSIGN_OR_RETURN(bool ordered, OrderedArg(ctx));
  std::vector<UpdateSpec> specs;
  for (bson::DocView d : updates) {
    AMALGAM_ASSIGN_OR_RETURN(UpdateSpec spec, ParseUpdateSpec(d));
    specs.push_back(std::move(spec));
  }
  int64_t n = 0, modified = 0;
  bson::Builder upserted;
  upserted.StartArray("u");
  bson::ArrayBuilder ua(upserted);
  WriteErrors errors;
  CompiledUpdateCache cache;
  for (size_t i = 0; i < specs.size(); ++i) {
    Result<UpdateOutcome> outcome = RunUpdate(ctx, coll, specs[i], cache);
    if (outcome.ok()) {
      n += outcome->matched;
      modified += outcome->modified;
      if (outcome->upserted_id) {
        ++n;
        upserted.StartDocument(ua.Next()).AppendInt32("index", static_cast<int32_t>(i))
            .AppendValue("_id", outcome->upserted_id->view().Get("_id")).EndDocument();
      }
      continue;
    }
    const Status& s = outcome.status();
    if (FailsWholeBatch(s)) return s;
    errors.Add(i, s);
    if (ordered) break;
  }
  upserted.EndArray();
  ctx.service.stats().update += static_cast<int64_t>(updates.size());
  r.AppendInt32("n", static_cast<int32_t>(n));
  r.AppendInt32("nModified", static_cast<int32_t>(modified));
  if (ua.count() > 0) {
    bson::Document u = std::move(upserted).Finish();
    r.AppendArray("upserted", u.view().Get("u").AsDocument());
  }
  errors.AppendTo(r);
  return Status::OK();
}

// ---- findAndModify ----

Status FindAndModify(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll_name, CollectionArg(ctx));
  FindOptions find;
  UpdateSpec spec;
  bool remove = false, want_new = false, have_update = false;
  bson::Document fields;
  for (const bson::Element& e : ctx.cmd) {
    const bson::Value& v = e.value;
    if (e.name == "query") {
      if (v.type() == bson::BsonType::kDocument) find.filter = bson::Document(v.AsDocument());
      else if (v.type() != bson::BsonType::kNull) return Status(ErrorCode::kTypeMismatch, "BSON field 'findAndModify.query' is the wrong type, expected type 'object'");
    } else if (e.name == "sort") {
      if (v.type() == bson::BsonType::kDocument) find.sort = bson::Document(v.AsDocument());
    } else if (e.name == "remove") {
      remove = TruthyValue(v);
    } else if (e.name == "new") {
      want_new = TruthyValue(v);
    } else if (e.name == "update") {
      if (v.type() != bson::BsonType::kDocument && v.type() != bson::BsonType::kArray) {
        return Status(ErrorCode::kFailedToParse, "Update argument must be either an object or an array");
      }
      bson::Builder b;
      b.AppendValue("u", v);
      spec.u_holder = std::move(b).Finish();
      have_update = true;
    } else if (e.name == "fields") {
      if (v.type() == bson::BsonType::kDocument) fields = bson::Document(v.AsDocument());
    } else if (e.name == "upsert") {
      spec.upsert = TruthyValue(v);
    } else if (e.name == "arrayFilters" && v.type() == bson::BsonType::kArray) {
      for (const bson::Element& f : v.AsDocument()) {
        if (f.value.type() == bson::BsonType::kDocument) spec.array_filters.emplace_back(f.value.AsDocument());
      }
    } else if (e.name == "hint") {
      bson::Builder b;
      b.AppendValue("h", v);
      find.hint_holder = std::move(b).Finish();
      find.hint = find.hint_holder.view().Get("h");
    }
  }
  if (remove && have_update) return Status(ErrorCode::kFailedToParse, "Cannot specify both an update and remove=true");
  if (!remove && !have_update) return Status(ErrorCode::kFailedToParse, "Either an update or remove=true must be specified");
  if (remove && want_new) {
    return Status(ErrorCode::kFailedToParse,
                  "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document");
  }
  if (remove && spec.upsert) return Status(ErrorCode::kFailedToParse, "Cannot specify both upsert=true and remove=true");
  spec.q = bson::Document(find.filter.view());
  std::optional<query::Update> update;
  if (have_update) {
    AMALGAM_ASSIGN_OR_RETURN(update, CompileUpdate(spec));
  }
  std::optional<query::Projection> projection;
  if (!fields.view().empty()) {
    AMALGAM_ASSIGN_OR_RETURN(projection, query::Projection::Compile(fields.view(), query::ProjectionOptions{}));
  }
  AMALGAM_ASSIGN_OR_RETURN(query::Matcher matcher, query::Matcher::Compile(find.filter.view(), query::MatchContext{}));
  engine::HandlePtr coll = ctx.engine.Find(ctx.db, coll_name);
  if (!coll && spec.upsert) {
    AMALGAM_ASSIGN_OR_RETURN(coll, ctx.engine.GetOrCreate(ctx.db, coll_name));
  }
  int64_t now = ctx.service.clock().NowMillis();
  std::optional<bson::Document> result;
  bool updated_existing = false;
  std::optional<bson::Document> upserted_id;
  int64_t n = 0;
  // Removes or updates the document with `id` if it matches, under its lock.
  auto modify = [&](engine::WriteTxn& t, const std::string& id) -> Status {
    result.reset();
    n = 0;
    if (remove) {
      AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, t.GetByEncodedId(*coll, id, true));
      if (!doc || !matcher.Matches(doc->view())) return Status::OK();
      AMALGAM_RETURN_IF_ERROR(t.Delete(*coll, doc->view()));
      result = std::move(*doc);
      n = 1;
      return Status::OK();
    }
    UpdateOutcome out;
    bson::Document before, after;
    AMALGAM_RETURN_IF_ERROR(UpdateOne(t, *coll, id, matcher, *update, now, &out, &before, &after));
    if (out.matched == 0) return Status::OK();
    n = 1;
    updated_existing = true;
    result = want_new ? std::move(after) : std::move(before);
    return Status::OK();
  };
  std::optional<std::vector<std::string>> by_id;
  if (coll) {
    by_id = IdCandidates(find.filter.view(), find.hint_holder.view().Get("h"));
    // With a sort and several candidates the first match in sort order is wanted: plan as usual.
    // With one candidate the sort is only checked.
    if (by_id && !find.sort.view().empty()) {
      if (by_id->size() > 1) {
        by_id.reset();
      } else {
        AMALGAM_RETURN_IF_ERROR(query::SortSpec::Compile(find.sort.view()).status());
      }
    }
  }
  if (by_id) {
    // The candidates in _id order (the order of the planner's _id lookup), each read under its
    // lock: the first that matches is the one.
    AMALGAM_RETURN_IF_ERROR(ctx.RunWrite([&](engine::WriteTxn& t) -> Status {
      updated_existing = false;
      for (const std::string& id : *by_id) {
        AMALGAM_RETURN_IF_ERROR(modify(t, id));
        if (n > 0) break;
      }
      return Status::OK();
    }));
  }
  for (int attempt = 0; coll && !by_id && attempt < 10 && n == 0; ++attempt) {
    FindOptions first = find;
    first.limit = 1;
    first.hint = find.hint_holder.view().Get("h");
    AMALGAM_ASSIGN_OR_RETURN(PreparedQuery q, PrepareQuery(ctx.engine, coll, first, bson::DocView(), ctx.txn));
    bson::Document candidate;
    AMALGAM_ASSIGN_OR_RETURN(bool found, q.source->Next(&candidate));
    if (!found) break;
    std::string id = storage::EncodeValue(candidate.view().Get("_id")).key;
    q.source.reset();  // a transaction's iterators must not outlive its next write
    AMALGAM_RETURN_IF_ERROR(ctx.RunWrite([&](engine::WriteTxn& t) { return modify(t, id); }));
  }
  if (n == 0 && spec.upsert && update) {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document doc, UpsertDocument(*update, spec.q.view(), now));
    AMALGAM_RETURN_IF_ERROR(ctx.RunWrite([&](engine::WriteTxn& t) { return t.Insert(*coll, doc.view()); }));
    bson::Builder b;
    b.AppendValue("_id", doc.view().Get("_id"));
    upserted_id = std::move(b).Finish();
    n = 1;
    if (want_new) result = std::move(doc);
  }
  r.StartDocument("lastErrorObject");
  r.AppendInt32("n", static_cast<int32_t>(n));
  if (!remove) r.AppendBool("updatedExisting", updated_existing);
  if (upserted_id) r.AppendValue("upserted", upserted_id->view().Get("_id"));
  r.EndDocument();
  if (result && projection) {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document projected, projection->Apply(result->view(), nullptr));
    result = std::move(projected);
  }
  if (result) {
    r.AppendDocument("value", result->view());
  } else {
    r.AppendNull("value");
  }
  if (remove) ctx.service.stats().remove += n;
  else ctx.service.stats().update += 1;
  return Status::OK();
}

}  // namespace

void RegisterWriteCommands(CommandRegistry& reg) {
  reg.Add({"delete", Delete});
  reg.Add({"update", UpdateCmd});
  reg.Add({"findAndModify", FindAndModify});
  reg.Add({"findandmodify", FindAndModify});
}

}  // namespace amalgam::api::mongo
