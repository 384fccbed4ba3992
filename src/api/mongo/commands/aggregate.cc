// The aggregate command: a query::Pipeline over a collection (its leading $match/$sort/$skip/
// $limit run as a find-style access path, so they can use indexes) or, for {aggregate: 1}, over
// $documents; results through the cursor manager like find.
#include <chrono>
#include <mutex>
#include <optional>

#include "api/mongo/batch.h"
#include "api/mongo/commands/search_indexes.h"
#include "api/mongo/command.h"
#include "api/mongo/commands/aggregate_out.h"
#include "api/mongo/commands/change_stream.h"
#include "api/mongo/query_request.h"
#include "api/mongo/service.h"
#include "engine/engine.h"
#include "engine/read_view.h"
#include "query/executor.h"
#include "query/matcher.h"
#include "query/pipeline.h"
#include "query/plan.h"
#include "query/vector_search.h"

namespace amalgam::api::mongo {
namespace {

constexpr int64_t kDefaultFirstBatch = 101;

struct AggregateOptions {
  bson::DocView pipeline;
  bool has_cursor = false;
  int64_t batch_size = -1;  // -1: default
  bool explain = false;
  bool allow_disk_use = false;
  bson::Value hint;  // missing: none (borrowed from the command)
  bson::DocView let;
  int64_t max_time_ms = -1;
};

Result<AggregateOptions> ParseAggregateOptions(bson::DocView cmd) {
  AggregateOptions o;
  bool have_pipeline = false;
  bool first = true;
  for (const bson::Element& e : cmd) {
    if (first) {
      first = false;
      continue;
    }
    const bson::Value& v = e.value;
    if (e.name == "pipeline") {
      if (v.type() != bson::BsonType::kArray) {
        return Status(ErrorCode::kTypeMismatch, "'pipeline' option must be specified as an array");
      }
      for (const bson::Element& stage : v.AsDocument()) {
        if (stage.value.type() != bson::BsonType::kDocument) {
          return Status(ErrorCode::kTypeMismatch,
                        "Each element of the 'pipeline' array must be an object");
        }
      }
      o.pipeline = v.AsDocument();
      have_pipeline = true;
    } else if (e.name == "cursor") {
      if (v.type() != bson::BsonType::kDocument)
        return WrongTypeError("aggregate", "cursor", v, "object");
      o.has_cursor = true;
      for (const bson::Element& c : v.AsDocument()) {
        if (c.name != "batchSize") {
          return Status(
              ErrorCode::kUnknownField,
              "BSON field 'aggregate.cursor." + std::string(c.name) + "' is an unknown field.");
        }
        if (!c.value.IsNumber())
          return WrongTypeError("aggregate", "cursor.batchSize", c.value, "long");
        AMALGAM_ASSIGN_OR_RETURN(o.batch_size, IntegerArg(c.value, "batchSize"));
        if (o.batch_size < 0) {
          return Status(ErrorCode::kFieldValueOutOfRange,
                        "BSON field 'batchSize' value must be >= 0, actual value '" +
                            std::to_string(o.batch_size) + "'");
        }
      }
    } else if (e.name == "explain") {
      if (v.type() != bson::BsonType::kBool)
        return WrongTypeError("aggregate", "explain", v, "bool");
      o.explain = v.AsBool();
    } else if (e.name == "allowDiskUse") {
      if (v.type() != bson::BsonType::kBool)
        return WrongTypeError("aggregate", "allowDiskUse", v, "bool");
      o.allow_disk_use = v.AsBool();
    } else if (e.name == "hint") {
      if (v.type() != bson::BsonType::kDocument && v.type() != bson::BsonType::kString) {
        return Status(ErrorCode::kFailedToParse, "hint must be a string or an object");
      }
      o.hint = v;
    } else if (e.name == "let") {
      if (v.type() != bson::BsonType::kDocument)
        return WrongTypeError("aggregate", "let", v, "object");
      o.let = v.AsDocument();
    } else if (e.name == "maxTimeMS") {
      if (!v.IsNumber()) return WrongTypeError("aggregate", "maxTimeMS", v, "int");
      AMALGAM_ASSIGN_OR_RETURN(o.max_time_ms, IntegerArg(v, "maxTimeMS"));
      if (o.max_time_ms < 0)
        return Status(ErrorCode::kBadValue, "maxTimeMS value must be non-negative");
      if (o.max_time_ms == 0) o.max_time_ms = -1;  // 0 means no limit
    } else if (e.name == "collation" || e.name == "readConcern" || e.name == "writeConcern" ||
               e.name == "bypassDocumentValidation" || e.name == "fromMongos" ||
               e.name == "needsMerge" || IsGenericArgument(e.name)) {
      continue;
    } else {
      return Status(ErrorCode::kUnknownField,
                    "BSON field 'aggregate." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (!have_pipeline) return MissingFieldError("aggregate", "pipeline");
  if (!o.has_cursor && !o.explain) {
    return Status(
        ErrorCode::kFailedToParse,
        "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  return o;
}

// The cursor's source: the pipeline's executor. Forwards the maxTimeMS deadline to the access
// path underneath (which checks it while scanning) and checks it between documents.
class AggregateSource final : public engine::DocumentSource {
 public:
  AggregateSource(std::unique_ptr<query::Stage> stage, engine::DocumentSource* access)
      : stage_(std::move(stage)), access_(access) {}
  Result<bool> Next(bson::Document* out) override {
    if (deadline_ != std::chrono::steady_clock::time_point::max() &&
        std::chrono::steady_clock::now() > deadline_) {
      return Status(ErrorCode::kMaxTimeMSExpired, "operation exceeded time limit");
    }
    query::Row row;
    AMALGAM_ASSIGN_OR_RETURN(bool more, stage_->Next(&row));
    if (!more) return false;
    *out = std::move(row.doc);
    return true;
  }
  void SetDeadline(std::chrono::steady_clock::time_point deadline) override {
    deadline_ = deadline;
    if (access_) access_->SetDeadline(deadline);
  }

 private:
  std::unique_ptr<query::Stage> stage_;  // owns the access source
  engine::DocumentSource* access_;       // inside stage_, or null
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
};

// $lookup/$unionWith read the other collections of the command's database through the same
// access plans as find (so an equality $lookup uses the foreign field's index). Outside a
// transaction every foreign read of the command shares one snapshot (taken at the first read and
// kept while the cursor lives), so the documents of every batch join against the same state;
// inside one they read through the transaction (its snapshot and its own writes, like the outer
// read). A transaction's cursors close when it ends (SessionRegistry::CloseTxnCursors), so `txn`
// outlives every read made through it.
class EngineCollections final : public query::CollectionSource {
 public:
  EngineCollections(engine::Engine& engine, std::string db, engine::WriteTxn* txn)
      : engine_(engine), db_(std::move(db)), txn_(txn) {}
  Result<std::unique_ptr<query::Stage>> Open(std::string_view coll,
                                             bson::DocView filter) const override {
    engine::HandlePtr h = engine_.Find(db_, std::string(coll));
    if (!h) return query::MakeVectorStage({});
    std::shared_ptr<engine::ReadView> view;
    if (txn_ == nullptr) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!view_) view_ = engine_.Read();
      view = view_;
    }
    std::shared_ptr<const query::Matcher> matcher;
    if (!filter.empty()) {
      query::MatchContext mctx;
      AMALGAM_ASSIGN_OR_RETURN(query::Matcher m, query::Matcher::Compile(filter, mctx));
      matcher = std::make_shared<const query::Matcher>(std::move(m));
    }
    query::PlanRequest req;
    req.coll = h.get();
    req.filter = filter;
    AMALGAM_ASSIGN_OR_RETURN(query::Plan plan, query::PlanQuery(req));
    auto stats = std::make_shared<query::ExecStats>();
    query::ReadSource src;
    src.view = view.get();
    src.txn = txn_;
    return std::unique_ptr<query::Stage>(std::make_unique<ForeignRead>(
        query::MakeAccessStage(src, h, plan, std::move(matcher), stats.get()), std::move(view),
        std::move(stats)));
  }

 private:
  // An access stage with what it reads through kept alive.
  class ForeignRead final : public query::Stage {
   public:
    ForeignRead(std::unique_ptr<query::Stage> inner, std::shared_ptr<engine::ReadView> view,
                std::shared_ptr<query::ExecStats> stats)
        : view_(std::move(view)), stats_(std::move(stats)), inner_(std::move(inner)) {}
    Result<bool> Next(query::Row* row) override { return inner_->Next(row); }

   private:
    std::shared_ptr<engine::ReadView> view_;
    std::shared_ptr<query::ExecStats> stats_;
    std::unique_ptr<query::Stage> inner_;  // destroyed first
  };

  engine::Engine& engine_;
  std::string db_;
  engine::WriteTxn* txn_;  // null outside a transaction
  mutable std::mutex mu_;
  mutable std::shared_ptr<engine::ReadView> view_;  // the shared snapshot, once taken
};

struct PreparedAggregate {
  std::unique_ptr<engine::DocumentSource> source;
  std::optional<query::Plan> plan;  // set when the collection is read through the access path
  engine::HandlePtr coll;
  FindOptions access;  // what the access path runs
  size_t pushed = 0;   // pipeline stages it covers
};

Result<PreparedAggregate> Prepare(CommandContext& ctx, const std::string& coll, bool collectionless,
                                  const AggregateOptions& opts, const query::Pipeline& pipeline) {
  PreparedAggregate out;
  std::string_view first = query::FirstStageName(opts.pipeline);
  if (!collectionless && (first == "$vectorSearch" || first == "$listSearchIndexes")) {
    // Sources of their own (search_indexes.cc): the compiled pipeline holds a placeholder.
    AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<query::Stage> input,
                             SearchStageInput(ctx, coll, first, opts.pipeline));
    out.source = std::make_unique<AggregateSource>(pipeline.Build(std::move(input), 0), nullptr);
    return out;
  }
  {
    // $collStats / $indexStats / $listSessions / $listLocalSessions: documents the command makes
    // (aggregate_out.h).
    AMALGAM_ASSIGN_OR_RETURN(auto stats_docs, CommandSourceDocuments(ctx, coll, collectionless, opts.pipeline));
    if (stats_docs) {
      out.source = std::make_unique<AggregateSource>(
          pipeline.Build(query::MakeVectorStage(std::move(*stats_docs)), 0), nullptr);
      return out;
    }
  }
  engine::HandlePtr h;
  if (!collectionless && !pipeline.starts_with_documents()) h = ctx.engine.Find(ctx.db, coll);
  if (!h) {
    // No collection (or not reading one): the pipeline runs over nothing, as in MongoDB.
    out.source =
        std::make_unique<AggregateSource>(pipeline.Build(query::MakeVectorStage({}), 0), nullptr);
    return out;
  }
  const query::AccessPrefix& pre = pipeline.access_prefix();
  out.pushed = pre.stages;
  out.access.filter = pre.filter;
  out.access.sort = pre.sort;
  out.access.skip = pre.skip;
  out.access.limit = pre.limit;
  if (opts.allow_disk_use && !pre.sort.view().empty()) {
    // find's sort has a fixed memory limit: with allowDiskUse the pipeline's own $sort runs it.
    out.pushed = pre.filter.view().empty() ? 0 : 1;
    out.access.sort = bson::Document();
    out.access.skip = 0;
    out.access.limit = 0;
  }
  if (!opts.hint.missing()) {
    bson::Builder b;
    b.AppendValue("h", opts.hint);
    out.access.hint_holder = std::move(b).Finish();
    out.access.hint = out.access.hint_holder.view().Get("h");
  }
  if (ctx.txn == nullptr && opts.hint.missing() && out.access.sort.view().empty() &&
      out.access.skip == 0 && out.access.limit == 0 && pipeline.GroupsAt(out.pushed)) {
    // [$match] $group without an index for the $match: the group reads the collection scan
    // itself (in place, and in parallel _id ranges when large; query/pipeline.h).
    query::PlanRequest req;
    req.coll = h.get();
    req.filter = out.access.filter.view();
    AMALGAM_ASSIGN_OR_RETURN(query::Plan plan, query::PlanQuery(req));
    if (plan.kind == query::Plan::Kind::kCollScan && plan.forward) {
      query::ScanInput scan;
      if (!out.access.filter.view().empty()) {
        query::MatchContext mctx;
        mctx.variables = pipeline.variables();
        AMALGAM_ASSIGN_OR_RETURN(query::Matcher m, query::Matcher::Compile(out.access.filter.view(), mctx));
        scan.matcher = std::make_shared<const query::Matcher>(std::move(m));
      }
      std::unique_ptr<engine::ReadView> view = ctx.engine.Read();
      scan.view = view.get();
      scan.coll = h;
      scan.stats = std::make_shared<query::ExecStats>();
      std::shared_ptr<query::ExecStats> stats = scan.stats;
      std::unique_ptr<query::Stage> stage = pipeline.BuildOverScan(std::move(scan), out.pushed);
      std::unique_ptr<engine::DocumentSource> source =
          query::MakeDocumentSource(std::move(view), std::move(stage), nullptr, std::move(stats));
      engine::DocumentSource* access = source.get();
      out.plan = std::move(plan);
      out.coll = h;
      out.source = std::make_unique<AggregateSource>(query::MakeSourceStage(std::move(source)), access);
      return out;
    }
  }
  AMALGAM_ASSIGN_OR_RETURN(PreparedQuery q, PrepareQuery(ctx.engine, h, out.access, pipeline.variables(), ctx.txn));
  out.plan = q.plan;
  out.coll = h;
  engine::DocumentSource* access = q.source.get();
  std::unique_ptr<query::Stage> stage =
      pipeline.Build(query::MakeSourceStage(std::move(q.source)), out.pushed);
  out.source = std::make_unique<AggregateSource>(std::move(stage), access);
  return out;
}

Status Explain(CommandContext& ctx, const std::string& ns, const AggregateOptions& opts,
               PreparedAggregate& prepared, bson::Builder& r) {
  r.AppendString("explainVersion", "1");
  r.StartArray("stages");
  bson::ArrayBuilder a(r);
  r.StartDocument(a.Next());
  r.StartDocument("$cursor");
  r.StartDocument("queryPlanner");
  r.AppendString("namespace", ns);
  r.AppendDocument("parsedQuery", prepared.access.filter.view());
  if (prepared.plan) {
    bool blocking_sort = !prepared.access.sort.view().empty() && !prepared.plan->provides_sort;
    bson::Document plan =
        DescribePlan(*prepared.coll, *prepared.plan, !prepared.access.filter.view().empty(),
                     blocking_sort, false);
    r.AppendDocument("winningPlan", plan.view());
  } else {
    r.StartDocument("winningPlan").AppendString("stage", "EOF").EndDocument();
  }
  r.StartArray("rejectedPlans").EndArray();
  r.EndDocument();
  r.EndDocument();
  r.EndDocument();
  size_t i = 0;
  for (const bson::Element& e : opts.pipeline) {
    if (i++ < prepared.pushed) continue;
    r.AppendDocument(a.Next(), e.value.AsDocument());
  }
  r.EndArray();
  r.StartDocument("serverInfo")
      .AppendString("host", ctx.service.options().advertised_host)
      .AppendInt32("port", ctx.service.options().port)
      .AppendString("version", ctx.service.options().version)
      .EndDocument();
  return Status::OK();
}

Status Aggregate(CommandContext& ctx, bson::Builder& r) {
  if (IsChangeStreamAggregate(ctx.cmd)) return ChangeStreamAggregate(ctx, r);
  bson::Value target = ctx.cmd.begin()->value;
  bool collectionless = false;
  std::string coll;
  if (target.IsNumber() && target.NumberAsDouble() == 1) {
    collectionless = true;
  } else if (target.type() == bson::BsonType::kString) {
    AMALGAM_ASSIGN_OR_RETURN(coll, CollectionArg(ctx));
  } else {
    return Status(
        ErrorCode::kFailedToParse,
        "Invalid command format: the 'aggregate' field must specify a collection name or 1");
  }
  AMALGAM_ASSIGN_OR_RETURN(AggregateOptions opts, ParseAggregateOptions(ctx.cmd));
  ctx.service.stats().query++;
  // A final $out/$merge runs here, after the rest of the pipeline (aggregate_out.h).
  OutTarget out_target;
  AMALGAM_ASSIGN_OR_RETURN(bool has_out, ParseOutStage(opts.pipeline, ctx.db, &out_target));
  bson::Document without_out;
  bson::DocView stages = opts.pipeline;
  if (has_out) {
    bson::Builder b;
    b.StartArray("s");
    bson::ArrayBuilder ab(b);
    size_t n = opts.pipeline.CountElements(), i = 0;
    for (const bson::Element& e : opts.pipeline) {
      if (++i < n) b.AppendValue(ab.Next(), e.value);
    }
    b.EndArray();
    bson::Document holder = std::move(b).Finish();
    without_out = bson::Document(holder.view().begin()->value.AsDocument());
    stages = without_out.view();
  }
  query::PipelineContext pctx;
  pctx.variables = opts.let;
  pctx.allow_disk_use = opts.allow_disk_use;
  pctx.collectionless = collectionless;
  pctx.collections = std::make_shared<EngineCollections>(ctx.engine, ctx.db, ctx.in_transaction ? ctx.txn : nullptr);
  AMALGAM_ASSIGN_OR_RETURN(query::Pipeline pipeline, query::Pipeline::Compile(stages, pctx));
  std::string ns = collectionless ? ctx.db + ".$cmd.aggregate" : ctx.db + "." + coll;
  AMALGAM_ASSIGN_OR_RETURN(PreparedAggregate prepared,
                           Prepare(ctx, coll, collectionless, opts, pipeline));
  if (opts.explain) return Explain(ctx, ns, opts, prepared, r);
  if (has_out) {
    AMALGAM_RETURN_IF_ERROR(WriteOut(ctx, out_target, *prepared.source, pipeline.variables()));
    r.StartDocument("cursor")
        .AppendInt64("id", 0)
        .AppendString("ns", ns)
        .StartArray("firstBatch")
        .EndArray()
        .EndDocument();
    return Status::OK();
  }
  auto cursor = std::make_unique<Cursor>();
  cursor->ns = ns;
  cursor->connection_id = ctx.conn.connection_id;
  cursor->source = std::move(prepared.source);
  cursor->remaining_time_ms = opts.max_time_ms;
  if (opts.batch_size == 0) {
    // batchSize 0: an empty first batch and an open cursor; the work starts at getMore.
    cursor->last_used_millis = ctx.service.clock().NowMillis();
    int64_t id = ctx.service.cursors().Register(std::move(cursor));
    r.StartDocument("cursor")
        .AppendInt64("id", id)
        .AppendString("ns", ns)
        .StartArray("firstBatch")
        .EndArray()
        .EndDocument();
    return Status::OK();
  }
  int64_t batch = opts.batch_size > 0 ? opts.batch_size : kDefaultFirstBatch;
  return AppendCursorReply(ctx.service.cursors(), std::move(cursor), batch, "firstBatch",
                           ctx.service.clock().NowMillis(), r);
}

}  // namespace

void RegisterAggregateCommands(CommandRegistry& reg) { reg.Add({"aggregate", Aggregate}); }

}  // namespace amalgam::api::mongo
