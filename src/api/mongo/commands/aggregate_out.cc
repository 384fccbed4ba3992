#include "api/mongo/commands/aggregate_out.h"

#include <algorithm>
#include <random>

#include "api/mongo/query_request.h"
#include "api/mongo/service.h"
#include "api/mongo/session.h"
#include "bson/builder.h"
#include "engine/engine.h"
#include "engine/write_txn.h"
#include "query/executor.h"
#include "query/expression.h"
#include "query/matcher.h"
#include "query/plan.h"
#include "query/projection.h"
#include "query/update.h"

namespace amalgam::api::mongo {
namespace {

using bson::BsonType;

Status Parse(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }

Status ParseNamespace(const bson::Value& v, const std::string& db, std::string_view stage,
                      OutTarget* t) {
  if (v.type() == BsonType::kString) {
    t->db = db;
    t->coll = std::string(v.AsString());
  } else if (v.type() == BsonType::kDocument) {
    t->db = db;
    for (const bson::Element& e : v.AsDocument()) {
      if ((e.name != "db" && e.name != "coll") || e.value.type() != BsonType::kString) {
        return Parse(std::string(stage) +
                     " target must be a string or {db: <string>, coll: <string>}");
      }
      (e.name == "db" ? t->db : t->coll) = std::string(e.value.AsString());
    }
  } else {
    return query::MongoCodedError(stage == "$out" ? 16990 : 51178,
                                  std::string(stage) +
                                      " only supports a string or object argument, not " +
                                      std::string(bson::TypeAlias(v.type())));
  }
  if (t->coll.empty())
    return Status(ErrorCode::kInvalidNamespace,
                  "Invalid " + std::string(stage) + " target namespace");
  if (t->coll.starts_with("system.")) {
    return Status(ErrorCode::kInvalidNamespace,
                  "Invalid " + std::string(stage) + " target namespace, " + t->db + "." + t->coll);
  }
  return Status::OK();
}

std::string TypeName(const bson::Value& v) { return std::string(bson::TypeAlias(v.type())); }

Status ParseMergeOn(const bson::Value& v, OutTarget* t) {
  t->on.clear();
  t->on_given = true;
  if (v.type() == BsonType::kString) {
    t->on.emplace_back(v.AsString());
  } else if (v.type() == BsonType::kArray) {
    for (const bson::Element& f : v.AsDocument()) {
      if (f.value.type() != BsonType::kString) {
        return query::MongoCodedError(
            51134, "$merge 'on' array elements must be strings, but found " + TypeName(f.value));
      }
      t->on.emplace_back(f.value.AsString());
    }
  } else {
    return query::MongoCodedError(
        51186, "$merge 'on' field  must be either a string or an array of strings, but found " +
                   TypeName(v));
  }
  if (t->on.empty())
    return query::MongoCodedError(
        51187, "If explicitly specifying $merge 'on', must include at least one field");
  for (size_t i = 0; i < t->on.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (t->on[i] == t->on[j]) {
        return Status(ErrorCode::kBadValue,
                      "Found a duplicate field '" + t->on[i] + "' in $merge 'on'");
      }
    }
  }
  return Status::OK();
}

// The whenMatched/whenNotMatched pairs MongoDB runs (the others are refused with 51181).
bool SupportedMergeModes(std::string_view matched, std::string_view not_matched) {
  if (matched == "replace" || matched == "merge" || matched == "pipeline") return true;
  return not_matched == "insert";  // keepExisting and fail only insert what does not match
}

Status ParseMerge(const bson::Value& v, const std::string& db, OutTarget* t) {
  t->merge = true;
  if (v.type() != BsonType::kDocument) return ParseNamespace(v, db, "$merge", t);
  bool have_into = false;
  bool have_let = false;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.name == "into") {
      AMALGAM_RETURN_IF_ERROR(ParseNamespace(e.value, db, "$merge", t));
      have_into = true;
    } else if (e.name == "on") {
      AMALGAM_RETURN_IF_ERROR(ParseMergeOn(e.value, t));
    } else if (e.name == "whenMatched") {
      if (e.value.type() == BsonType::kArray) {
        t->when_matched = "pipeline";
        t->pipeline = bson::Document(e.value.AsDocument());
        continue;
      }
      if (e.value.type() != BsonType::kString) {
        return query::MongoCodedError(
            51191, "$merge 'whenMatched' field  must be either a string or an array, but found " +
                       TypeName(e.value));
      }
      std::string_view m = e.value.AsString();
      if (m != "replace" && m != "keepExisting" && m != "merge" && m != "fail") {
        return Status(ErrorCode::kBadValue, "Enumeration value '" + std::string(m) +
                                                "' for field 'whenMatched' is not a valid value.");
      }
      t->when_matched = std::string(m);
    } else if (e.name == "whenNotMatched") {
      if (e.value.type() != BsonType::kString)
        return WrongTypeError("$merge", "whenNotMatched", e.value, "string");
      std::string_view m = e.value.AsString();
      if (m != "insert" && m != "discard" && m != "fail") {
        return Status(ErrorCode::kBadValue,
                      "Enumeration value '" + std::string(m) +
                          "' for field 'whenNotMatched' is not a valid value.");
      }
      t->when_not_matched = std::string(m);
    } else if (e.name == "let") {
      if (e.value.type() != BsonType::kDocument)
        return WrongTypeError("$merge", "let", e.value, "object");
      t->let = bson::Document(e.value.AsDocument());
      have_let = true;
    } else {
      return Status(ErrorCode::kUnknownField,
                    "BSON field '$merge." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (!have_into)
    return Status(ErrorCode::kMissingRequiredField,
                  "BSON field '$merge.into' is missing but a required field");
  if (!SupportedMergeModes(t->when_matched, t->when_not_matched)) {
    return query::MongoCodedError(
        51181, "Combination of $merge modes 'whenMatched: " + t->when_matched +
                   "' and 'whenNotMatched: " + t->when_not_matched + "' is not supported");
  }
  if (t->when_matched != "pipeline") {
    if (have_let) {
      return query::MongoCodedError(
          51199, "Cannot use 'let' variables with 'whenMatched: " + t->when_matched + "' mode");
    }
    return Status::OK();
  }
  if (!have_let) {
    bson::Builder b;
    b.AppendString("new", "$$ROOT");
    t->let = std::move(b).Finish();
  }
  bson::Value new_var = t->let.view().Get("new");
  if (!new_var.missing() &&
      (new_var.type() != BsonType::kString || new_var.AsString() != "$$ROOT")) {
    return query::MongoCodedError(
        51273, "'let' may not define a value for the reserved 'new' variable other than '$$ROOT'");
  }
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

// The value at dotted `path` of `doc`, through subdocuments only (missing through an array).
bson::Value ValueAtPath(bson::DocView doc, std::string_view path) {
  bson::Value v;
  while (true) {
    size_t dot = path.find('.');
    v = doc.Get(path.substr(0, dot));
    if (dot == std::string_view::npos) return v;
    if (v.type() != BsonType::kDocument) return bson::Value();
    doc = v.AsDocument();
    path = path.substr(dot + 1);
  }
}

bool SameFieldSet(const std::vector<std::string>& on, const catalog::IndexSpec& index) {
  if (index.fields.size() != on.size()) return false;
  for (const catalog::IndexField& f : index.fields) {
    if (std::find(on.begin(), on.end(), f.path.dotted()) == on.end()) return false;
  }
  return true;
}

// MongoDB's check that the `on` fields identify at most one target document: a unique,
// non-partial index on exactly those fields (the _id index for ["_id"]); only _id for a target
// that does not exist yet.
Status CheckMergeOnIndex(CommandContext& ctx, const OutTarget& t) {
  bool id_only = t.on.size() == 1 && t.on[0] == "_id";
  if (!t.on_given || id_only) return Status::OK();
  engine::HandlePtr h = ctx.engine.Find(t.db, t.coll);
  if (h) {
    for (const catalog::IndexSpec& index : h->info->indexes) {
      if (index.unique && !index.partial_filter &&
          index.state == catalog::IndexSpec::State::kReady && SameFieldSet(t.on, index)) {
        return Status::OK();
      }
    }
  }
  return query::MongoCodedError(51183,
                                "Cannot find index to verify that join fields will be unique");
}

// Adds MongoDB's $merge context to a write error.
Status MergeWriteError(const Status& s, bool matched_fail) {
  std::string prefix;
  if (s.code() == ErrorCode::kDuplicateKey) {
    prefix = matched_fail ? "$merge with whenMatched: fail found an existing document with the "
                            "same values for the 'on' fields"
                          : "$merge failed due to a DuplicateKey error";
  } else if (s.code() == ErrorCode::kImmutableField) {
    prefix =
        "$merge failed to update the matching document, did you attempt to modify the _id or the "
        "shard key?";
  } else {
    return s;
  }
  Status out(s.code(), prefix + " :: caused by :: " + std::string(s.message()));
  return s.details().empty() ? out : out.WithDetails(std::string(s.details()));
}

// The target document whose `on` fields equal those of `key` ({<path>: {$eq: v}, ...}), read and
// locked in `txn`; nullopt when there is none.
Result<std::optional<bson::Document>> FindMergeTarget(engine::WriteTxn& txn,
                                                      const engine::HandlePtr& h,
                                                      bson::DocView key) {
  query::MatchContext mctx;
  AMALGAM_ASSIGN_OR_RETURN(query::Matcher m, query::Matcher::Compile(key, mctx));
  auto matcher = std::make_shared<const query::Matcher>(std::move(m));
  query::PlanRequest req;
  req.coll = h.get();
  req.filter = key;
  AMALGAM_ASSIGN_OR_RETURN(query::Plan plan, query::PlanQuery(req));
  query::ReadSource src;
  src.txn = &txn;
  query::ExecStats stats;
  std::unique_ptr<query::Stage> stage = query::MakeAccessStage(src, h, plan, matcher, &stats);
  query::Row row;
  while (true) {
    AMALGAM_ASSIGN_OR_RETURN(bool more, stage->Next(&row));
    if (!more) return std::optional<bson::Document>();
    AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc,
                             txn.GetByEncodedId(*h, row.encoded_id, true));
    if (!doc) continue;
    AMALGAM_ASSIGN_OR_RETURN(bool still, matcher->Evaluate(doc->view(), nullptr));
    if (still) return doc;
  }
}

// whenMatched as a pipeline: $merge's let expressions, evaluated against each result document.
struct MergePipeline {
  bson::DocView outer;  // the aggregate's variables (let values, NOW)
  std::vector<std::pair<std::string, std::unique_ptr<query::Expression>>> let;

  static Result<MergePipeline> Prepare(const OutTarget& t, bson::DocView outer) {
    MergePipeline p;
    p.outer = outer;
    query::ExprParseContext pc;
    pc.variables = outer;
    for (const bson::Element& e : t.let.view()) {
      AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<query::Expression> expr,
                               query::Expression::Parse(e.value, pc));
      p.let.emplace_back(std::string(e.name), std::move(expr));
    }
    // Compiled once up front with placeholder values, so that a bad stage or an unknown
    // variable fails before anything is written.
    bson::Builder b;
    for (const bson::Element& e : outer) b.AppendValue(e.name, e.value);
    for (const auto& [name, expr] : p.let) {
      if (outer.Get(name).missing()) b.AppendNull(name);
    }
    bson::Document placeholders = std::move(b).Finish();
    query::UpdateOptions opts;
    opts.variables = placeholders.view();
    AMALGAM_RETURN_IF_ERROR(query::Update::CompilePipeline(t.pipeline.view(), opts).status());
    return p;
  }

  // The update for one result document: the pipeline with its let values bound.
  Result<query::Update> For(const OutTarget& t, bson::DocView result) const {
    std::vector<query::ExprValue> values;
    query::ExprEvalContext ec;
    ec.root = result;
    for (const auto& [name, expr] : let) {
      AMALGAM_ASSIGN_OR_RETURN(query::ExprValue v, expr->Evaluate(ec));
      values.push_back(std::move(v));
    }
    bson::Builder b;
    for (const bson::Element& e : outer) {
      bool shadowed = false;
      for (const auto& l : let) shadowed = shadowed || l.first == e.name;
      if (!shadowed) b.AppendValue(e.name, e.value);
    }
    for (size_t i = 0; i < let.size(); ++i) {
      if (values[i].missing()) {
        b.AppendNull(let[i].first);  // $$REMOVE and missing fields bind as null
      } else {
        b.AppendValue(let[i].first, values[i].value());
      }
    }
    bson::Document vars = std::move(b).Finish();
    query::UpdateOptions opts;
    opts.variables = vars.view();  // copied by Compile
    return query::Update::CompilePipeline(t.pipeline.view(), opts);
  }
};

// One result document, ready to be written.
struct PendingMerge {
  bson::Document doc;       // as the pipeline produced it
  bson::Document incoming;  // as stored on insert (_id first, generated when absent)
  bool had_id = false;
  bson::Document key;  // {<on field>: {$eq: value}, ...} when not matching by _id alone
  std::optional<query::Update> update;  // whenMatched pipeline with this document's let values
};

// Writes one result in `txn`; *matched_fail is set when whenMatched: fail met a match.
Status MergeOne(CommandContext& ctx, engine::WriteTxn& txn, const OutTarget& t,
                const engine::HandlePtr& h, bool by_id, const PendingMerge& p, bool* matched_fail) {
  std::optional<bson::Document> existing;
  if (by_id) {
    AMALGAM_ASSIGN_OR_RETURN(existing, txn.Get(*h, p.incoming.view().Get("_id"), true));
  } else {
    AMALGAM_ASSIGN_OR_RETURN(existing, FindMergeTarget(txn, h, p.key.view()));
  }
  if (!existing) {
    if (t.when_not_matched == "discard") return Status::OK();
    if (t.when_not_matched == "fail") {
      return query::MongoCodedError(
          13113,
          "$merge could not find a matching document in the target collection "
          "for at least one document in the source collection");
    }
    return txn.Insert(*h, p.incoming.view());
  }
  if (t.when_matched == "keepExisting") return Status::OK();
  if (t.when_matched == "fail") {
    *matched_fail = true;
    return txn.Insert(*h, p.incoming.view());  // the duplicate key error MongoDB reports
  }
  query::ApplyContext actx;
  actx.now_millis = ctx.service.clock().NowMillis();
  if (p.update) {
    query::UpdateResultInfo info;
    AMALGAM_ASSIGN_OR_RETURN(bson::Document after, p.update->Apply(existing->view(), actx, &info));
    if (!info.modified) return Status::OK();
    return txn.Update(*h, existing->view(), after.view(), storage::ChangeOp::kUpdate,
                      std::move(info.description));
  }
  if (by_id) {
    bson::Document after = t.when_matched == "replace"
                               ? bson::Document(p.incoming.view())
                               : Merged(existing->view(), p.incoming.view());
    return txn.Update(
        *h, existing->view(), after.view(),
        t.when_matched == "replace" ? storage::ChangeOp::kReplace : storage::ChangeOp::kUpdate);
  }
  // Matched on other fields: the result replaces or is merged into the target document, whose
  // _id stays (a result _id that differs is kImmutableField, as in MongoDB's update).
  bson::DocView result = p.had_id ? p.incoming.view() : p.doc.view();
  query::UpdateOptions uopts;
  bson::Document spec;
  if (t.when_matched == "replace") {
    spec = bson::Document(result);
  } else {
    bson::Builder sb;
    sb.AppendDocument("$set", result);
    spec = std::move(sb).Finish();
  }
  AMALGAM_ASSIGN_OR_RETURN(query::Update u, query::Update::Compile(spec.view(), uopts));
  query::UpdateResultInfo info;
  AMALGAM_ASSIGN_OR_RETURN(bson::Document after, u.Apply(existing->view(), actx, &info));
  if (!info.modified) return Status::OK();
  bool replace = t.when_matched == "replace";
  return txn.Update(
      *h, existing->view(), after.view(),
      replace ? storage::ChangeOp::kReplace : storage::ChangeOp::kUpdate,
      replace ? std::nullopt : std::optional<bson::Document>(std::move(info.description)));
}

// Results are written in batches, one storage transaction each. A batch that fails is written
// again document by document, so that the results before the failing one stay written (MongoDB
// does not revert them) and the error is the failing document's.
class MergeWriter {
 public:
  MergeWriter(CommandContext& ctx, const OutTarget& t, engine::HandlePtr h, bool by_id)
      : ctx_(ctx), t_(t), h_(std::move(h)), by_id_(by_id) {}

  Status Add(PendingMerge p) {
    bytes_ += p.doc.view().size() + p.incoming.view().size();
    batch_.push_back(std::move(p));
    if (batch_.size() >= kMaxDocs || bytes_ >= kMaxBytes) return Flush();
    return Status::OK();
  }

  Status Flush() {
    if (batch_.empty()) return Status::OK();
    Status s = ctx_.RunWrite([&](engine::WriteTxn& txn) -> Status {
      bool matched_fail = false;
      for (const PendingMerge& p : batch_)
        AMALGAM_RETURN_IF_ERROR(MergeOne(ctx_, txn, t_, h_, by_id_, p, &matched_fail));
      return Status::OK();
    });
    if (!s.ok()) {
      for (const PendingMerge& p : batch_) {
        bool matched_fail = false;
        Status one = ctx_.RunWrite([&](engine::WriteTxn& txn) -> Status {
          matched_fail = false;
          return MergeOne(ctx_, txn, t_, h_, by_id_, p, &matched_fail);
        });
        if (!one.ok()) {
          batch_.clear();
          return MergeWriteError(one, matched_fail);
        }
      }
    }
    batch_.clear();
    bytes_ = 0;
    return Status::OK();
  }

 private:
  static constexpr size_t kMaxDocs = 256;
  static constexpr size_t kMaxBytes = 8 << 20;
  CommandContext& ctx_;
  const OutTarget& t_;
  engine::HandlePtr h_;
  bool by_id_;
  std::vector<PendingMerge> batch_;
  size_t bytes_ = 0;
};

// The result `doc` made ready to write. Errors: 51132/51185 for unusable `on` values, those of
// PrepareForInsert and of the whenMatched pipeline's let expressions.
Result<PendingMerge> PrepareMerge(const OutTarget& t, bool by_id,
                                  const std::optional<MergePipeline>& pipeline,
                                  bson::Document doc) {
  PendingMerge p;
  p.had_id = !doc.view().Get("_id").missing();
  // _id is generated for a result without one (as MongoDB does when `on` includes _id; for
  // other `on` fields the generated _id only matters when the document is inserted).
  AMALGAM_ASSIGN_OR_RETURN(p.incoming, PrepareForInsert(doc.view()));
  if (!by_id) {
    bson::Builder kb;
    for (const std::string& f : t.on) {
      bson::Value v = ValueAtPath(p.incoming.view(), f);
      if (v.type() == BsonType::kArray) {
        return query::MongoCodedError(51185,
                                      "$merge write error: 'on' field '" + f + "' is an array");
      }
      if (v.missing() || v.type() == BsonType::kNull || v.type() == BsonType::kUndefined) {
        return query::MongoCodedError(51132,
                                      "$merge write error: 'on' field '" + f +
                                          "' cannot be missing, null, undefined or an array");
      }
      kb.StartDocument(f).AppendValue("$eq", v).EndDocument();
    }
    p.key = std::move(kb).Finish();
  }
  if (pipeline) {
    // $$ROOT of the let expressions: the result as written (with the _id generated for it
    // when `on` includes _id, as MongoDB generates it before resolving the variables).
    bool on_id = std::find(t.on.begin(), t.on.end(), "_id") != t.on.end();
    AMALGAM_ASSIGN_OR_RETURN(query::Update u,
                             pipeline->For(t, on_id ? p.incoming.view() : doc.view()));
    p.update = std::move(u);
  }
  p.doc = std::move(doc);
  return p;
}

Status WriteMerge(CommandContext& ctx, const OutTarget& t, engine::DocumentSource& source,
                  bson::DocView variables) {
  AMALGAM_RETURN_IF_ERROR(CheckMergeOnIndex(ctx, t));
  std::optional<MergePipeline> pipeline;
  if (t.when_matched == "pipeline") {
    AMALGAM_ASSIGN_OR_RETURN(MergePipeline p, MergePipeline::Prepare(t, variables));
    pipeline = std::move(p);
  }
  bool by_id = t.on.size() == 1 && t.on[0] == "_id";
  AMALGAM_ASSIGN_OR_RETURN(engine::HandlePtr h, ctx.engine.GetOrCreate(t.db, t.coll));
  MergeWriter writer(ctx, t, h, by_id);
  bson::Document doc;
  while (true) {
    Result<bool> more = source.Next(&doc);
    if (!more.ok() || !*more) {
      // The results before the end (or the error) are written first; their errors come first.
      AMALGAM_RETURN_IF_ERROR(writer.Flush());
      return more.ok() ? Status::OK() : more.status();
    }
    Result<PendingMerge> next = PrepareMerge(t, by_id, pipeline, std::move(doc));
    if (!next.ok()) {
      AMALGAM_RETURN_IF_ERROR(writer.Flush());
      return next.status();
    }
    AMALGAM_RETURN_IF_ERROR(writer.Add(std::move(next).value()));
  }
}

Status WriteOutReplace(CommandContext& ctx, const OutTarget& t, engine::DocumentSource& source) {
  std::mt19937_64 rng(std::random_device{}());
  std::string temp = "tmp.agg_out." + std::to_string(rng() % 1000000000);
  // The target's options and indexes carry over (MongoDB's $out keeps them): the indexes are
  // built on the empty temporary collection first, so the results are checked against its unique
  // indexes as they go in.
  engine::HandlePtr old = ctx.engine.Find(t.db, t.coll);
  AMALGAM_ASSIGN_OR_RETURN(
      engine::HandlePtr h,
      ctx.engine.CreateCollection(t.db, temp, old ? old->info->options.view() : bson::DocView()));
  auto cleanup = [&] { ctx.engine.DropCollection(t.db, temp).IgnoreError(); };
  if (old) {
    for (const catalog::IndexSpec& spec : old->info->indexes) {
      if (spec.is_id_index) continue;
      bson::Document listing = spec.ToListing();
      if (Result<bool> created = ctx.engine.CreateIndex(t.db, temp, listing.view());
          !created.ok()) {
        cleanup();
        return created.status();
      }
    }
    h = ctx.engine.Find(t.db, temp);
    if (!h)
      return Status(ErrorCode::kNamespaceNotFound,
                    "$out's temporary collection " + t.db + "." + temp + " disappeared");
  }
  bson::Document doc;
  constexpr size_t kBatch = 1000;
  std::vector<bson::Document> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    Status s = ctx.engine
                   .RunWrite([&](engine::WriteTxn& txn) -> Status {
                     for (const bson::Document& d : batch)
                       AMALGAM_RETURN_IF_ERROR(txn.Insert(*h, d.view()));
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

Status WriteOut(CommandContext& ctx, const OutTarget& target, engine::DocumentSource& source,
                bson::DocView variables) {
  if (ctx.in_transaction) {
    return Status(
        ErrorCode::kOperationNotSupportedInTransaction,
        std::string(target.merge ? "$merge" : "$out") + " cannot be used in a transaction");
  }
  return target.merge ? WriteMerge(ctx, target, source, variables)
                      : WriteOutReplace(ctx, target, source);
}

}  // namespace amalgam::api::mongo

namespace amalgam::api::mongo {
namespace {

// SHA-256 of the empty string: the uid MongoDB gives sessions when access control is off.
constexpr uint8_t kNoUserUid[32] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};

// $listSessions (on config.system.sessions) and $listLocalSessions (aggregate: 1): the logical
// sessions of this server, {_id: {id, uid}, lastUse}. Sessions live in this process only, so
// both list the same ones. Without access control every session belongs to no user: {} and
// {allUsers: true} list them all, {users: [...]} lists none.
Result<std::optional<std::vector<bson::Document>>> SessionListing(CommandContext& ctx,
                                                                  const std::string& coll,
                                                                  bool collectionless,
                                                                  const bson::Element& stage) {
  if (stage.name == "$listSessions" && (ctx.db != "config" || coll != "system.sessions")) {
    return Status(ErrorCode::kInvalidNamespace,
                  "$listSessions may only be run against config.system.sessions");
  }
  if (stage.name == "$listLocalSessions" && !collectionless) {
    return Status(ErrorCode::kInvalidNamespace,
                  "$listLocalSessions must be run against the database with {aggregate: 1}, not a "
                  "collection");
  }
  std::vector<bson::Document> docs;
  bson::DocView spec = stage.value.AsDocument();
  if (spec.Get("users").type() == bson::BsonType::kArray)
    return std::optional<std::vector<bson::Document>>(std::move(docs));
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
  if (stage.name != "$collStats" && stage.name != "$indexStats")
    return std::optional<std::vector<bson::Document>>();
  std::string host =
      ctx.service.options().advertised_host + ":" + std::to_string(ctx.service.options().port);
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
  bson::DocView spec =
      stage.value.type() == bson::BsonType::kDocument ? stage.value.AsDocument() : bson::DocView();
  bool want_count = !spec.Get("count").missing();
  bool want_storage = !spec.Get("storageStats").missing();
  if ((want_count || want_storage) && !h) {
    return Status(ErrorCode::kNamespaceNotFound,
                  "Unable to retrieve storageStats in $collStats stage :: caused by :: "
                  "Collection [" +
                      ctx.db + "." + coll + "] not found.");
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
