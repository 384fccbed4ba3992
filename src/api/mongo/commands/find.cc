// Read commands: find, count, distinct, and explain of find/count/distinct/delete/update.
#include <chrono>

#include "api/mongo/batch.h"
#include "api/mongo/command.h"
#include "api/mongo/query_request.h"
#include "api/mongo/service.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "query/matcher.h"
#include "query/plan.h"
#include "query/projection.h"

namespace amalgam::api::mongo {
namespace {

constexpr int64_t kDefaultFirstBatch = 101;

// find {_id: X} (a filter that pins one _id, without hint, sort or skip, and not batchSize 0):
// one read of that document, no plan, executor or cursor. The reply is what the general path
// gives (the _id lookup is exhausted after its one document, so the cursor id is 0). Returns
// false when the request does not qualify.
Result<bool> FindOneById(CommandContext& ctx, const engine::CollectionHandle& coll, const FindOptions& opts,
                         const std::string& ns, bson::Builder& r) {
  if (!opts.hint.missing() || !opts.sort.view().empty() || opts.skip != 0 || opts.batch_size == 0) return false;
  std::optional<std::vector<std::string>> ids = query::IdLookupCandidates(opts.filter.view());
  if (!ids || ids->size() != 1) return false;
  query::MatchContext mctx;
  mctx.variables = opts.let.view();
  AMALGAM_ASSIGN_OR_RETURN(query::Matcher matcher, query::Matcher::Compile(opts.filter.view(), mctx));
  std::optional<query::Projection> projection;
  if (!opts.projection.view().empty()) {
    AMALGAM_ASSIGN_OR_RETURN(projection, query::Projection::Compile(opts.projection.view(), query::ProjectionOptions{}));
  }
  std::optional<bson::Document> doc;
  if (ctx.txn) {
    AMALGAM_ASSIGN_OR_RETURN(doc, ctx.txn->GetByEncodedId(coll, ids->front(), false));
  } else {
    AMALGAM_ASSIGN_OR_RETURN(doc, ctx.engine.Read()->GetByEncodedId(coll, ids->front()));
  }
  query::MatchDetails details;
  if (doc) {
    AMALGAM_ASSIGN_OR_RETURN(bool matches, matcher.Evaluate(doc->view(), &details));
    if (!matches) doc.reset();
  }
  if (doc && projection) {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document projected, projection->Apply(doc->view(), &details));
    doc = std::move(projected);
  }
  r.StartDocument("cursor").AppendInt64("id", 0).AppendString("ns", ns).StartArray("firstBatch");
  if (doc) r.AppendDocument("0", doc->view());
  r.EndArray().EndDocument();
  return true;
}

Status Find(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  AMALGAM_ASSIGN_OR_RETURN(FindOptions opts, ParseFindOptions(ctx.cmd));
  ctx.service.stats().query++;
  std::string ns = ctx.db + "." + coll;
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  auto cursor = std::make_unique<Cursor>();
  cursor->ns = ns;
  cursor->connection_id = ctx.conn.connection_id;
  if (!h) {
    // A missing collection reads as empty, as in MongoDB.
    r.StartDocument("cursor").AppendInt64("id", 0).AppendString("ns", ns).StartArray("firstBatch").EndArray().EndDocument();
    return Status::OK();
  }
  AMALGAM_ASSIGN_OR_RETURN(bool done, FindOneById(ctx, *h, opts, ns, r));
  if (done) return Status::OK();
  AMALGAM_ASSIGN_OR_RETURN(PreparedQuery q, PrepareQuery(ctx.engine, h, opts, opts.let.view(), ctx.txn));
  cursor->source = std::move(q.source);
  cursor->remaining_time_ms = opts.max_time_ms;
  cursor->remaining = opts.limit;  // the batch that reaches the limit closes the cursor
  if (opts.batch_size == 0 && !opts.single_batch) {
    // batchSize 0: an empty first batch and an open cursor; the work starts at getMore.
    cursor->last_used_millis = ctx.service.clock().NowMillis();
    int64_t id = ctx.service.cursors().Register(std::move(cursor));
    r.StartDocument("cursor").AppendInt64("id", id).AppendString("ns", ns).StartArray("firstBatch").EndArray().EndDocument();
    return Status::OK();
  }
  int64_t batch = opts.batch_size > 0 ? opts.batch_size : kDefaultFirstBatch;
  if (opts.single_batch) {
    if (opts.max_time_ms >= 0) {
      cursor->source->SetDeadline(std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.max_time_ms));
    }
    bson::Builder b;
    b.StartArray("b");
    bool exhausted;
    AMALGAM_RETURN_IF_ERROR(FillBatch(*cursor, batch, b, &exhausted));
    b.EndArray();
    bson::Document d = std::move(b).Finish();
    r.StartDocument("cursor").AppendInt64("id", 0).AppendString("ns", ns);
    r.AppendArray("firstBatch", d.view().Get("b").AsDocument());
    r.EndDocument();
    return Status::OK();
  }
  return AppendCursorReply(ctx.service.cursors(), std::move(cursor), batch, "firstBatch",
                           ctx.service.clock().NowMillis(), r);
}

Status Count(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  FindOptions opts;
  bson::Value q = ctx.cmd.Get("query");
  if (q.type() == bson::BsonType::kDocument) opts.filter = bson::Document(q.AsDocument());
  else if (!q.missing() && q.type() != bson::BsonType::kNull) return WrongTypeError("count", "query", q, "object");
  if (bson::Value v = ctx.cmd.Get("skip"); !v.missing()) {
    AMALGAM_ASSIGN_OR_RETURN(opts.skip, IntegerArg(v, "skip"));
    if (opts.skip < 0) return Status(ErrorCode::kBadValue, "skip value is negative in count query");
  }
  if (bson::Value v = ctx.cmd.Get("limit"); !v.missing()) {
    AMALGAM_ASSIGN_OR_RETURN(opts.limit, IntegerArg(v, "limit"));
    if (opts.limit < 0) opts.limit = -opts.limit;
  }
  opts.hint = ctx.cmd.Get("hint");
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  int64_t n = 0;
  if (h) {
    AMALGAM_ASSIGN_OR_RETURN(PreparedQuery prepared, PrepareQuery(ctx.engine, h, opts, bson::DocView(), ctx.txn));
    bson::Document doc;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, prepared.source->Next(&doc));
      if (!more) break;
      ++n;
    }
  }
  r.AppendInt32("n", static_cast<int32_t>(n));
  return Status::OK();
}

Status Distinct(CommandContext& ctx, bson::Builder& r) {
  AMALGAM_ASSIGN_OR_RETURN(std::string coll, CollectionArg(ctx));
  bson::Value key = ctx.cmd.Get("key");
  if (key.missing()) return MissingFieldError("distinct", "key");
  if (key.type() != bson::BsonType::kString) return WrongTypeError("distinct", "key", key, "string");
  AMALGAM_ASSIGN_OR_RETURN(bson::FieldPath path, bson::FieldPath::Parse(key.AsString()));
  FindOptions opts;
  bson::Value q = ctx.cmd.Get("query");
  if (q.type() == bson::BsonType::kDocument) opts.filter = bson::Document(q.AsDocument());
  opts.hint = ctx.cmd.Get("hint");
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  std::vector<bson::Document> values;  // each {"": value}, kept sorted by value
  if (h) {
    AMALGAM_ASSIGN_OR_RETURN(PreparedQuery prepared, PrepareQuery(ctx.engine, h, opts, bson::DocView(), ctx.txn));
    bson::Document doc;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, prepared.source->Next(&doc));
      if (!more) break;
      AddDistinctValues(doc.view(), path, &values);
    }
  }
  r.StartArray("values");
  bson::ArrayBuilder a(r);
  for (const bson::Document& v : values) r.AppendValue(a.Next(), v.view().begin()->value);
  r.EndArray();
  return Status::OK();
}

// The filter, sort and hint an explained command reads with: find's own options, count's
// query, distinct's query, or the first q of delete / update, findAndModify's query.
Result<FindOptions> ExplainedQuery(bson::DocView inner, std::string_view verb) {
  FindOptions o;
  auto doc_field = [&](bson::DocView d, std::string_view name, bson::Document* out) {
    bson::Value v = d.Get(name);
    if (v.type() == bson::BsonType::kDocument) *out = bson::Document(v.AsDocument());
  };
  auto hint_field = [&](bson::DocView d) {
    bson::Value v = d.Get("hint");
    if (v.missing()) return;
    bson::Builder b;
    b.AppendValue("h", v);
    o.hint_holder = std::move(b).Finish();
    o.hint = o.hint_holder.view().Get("h");
  };
  if (verb == "find") return ParseFindOptions(inner);
  if (verb == "count" || verb == "distinct") {
    doc_field(inner, "query", &o.filter);
    hint_field(inner);
  } else if (verb == "findAndModify" || verb == "findandmodify") {
    doc_field(inner, "query", &o.filter);
    doc_field(inner, "sort", &o.sort);
    hint_field(inner);
  } else if (verb == "delete" || verb == "update") {
    bson::Value ops = inner.Get(verb == "delete" ? "deletes" : "updates");
    if (ops.type() == bson::BsonType::kArray && !ops.AsDocument().empty() &&
        ops.AsDocument().begin()->value.type() == bson::BsonType::kDocument) {
      bson::DocView first = ops.AsDocument().begin()->value.AsDocument();
      doc_field(first, "q", &o.filter);
      hint_field(first);
    }
  } else {
    return Status(ErrorCode::kCommandNotFound, "Explain failed due to unknown command: " + std::string(verb));
  }
  return o;
}

Status Explain(CommandContext& ctx, bson::Builder& r) {
  bson::Value inner_v = ctx.cmd.begin()->value;
  if (inner_v.type() != bson::BsonType::kDocument || inner_v.AsDocument().empty()) {
    return Status(ErrorCode::kFailedToParse, "explain command requires a nested object");
  }
  bson::DocView inner = inner_v.AsDocument();
  std::string verb(inner.begin()->name);
  std::string verbosity = "allPlansExecution";
  if (bson::Value v = ctx.cmd.Get("verbosity"); v.type() == bson::BsonType::kString) verbosity = std::string(v.AsString());
  if (verbosity != "queryPlanner" && verbosity != "executionStats" && verbosity != "allPlansExecution") {
    return Status(ErrorCode::kBadValue, "verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}");
  }
  if (inner.begin()->value.type() != bson::BsonType::kString) {
    return Status(ErrorCode::kInvalidNamespace, "collection name has invalid type " + std::string(bson::TypeAlias(inner.begin()->value.type())));
  }
  std::string coll(inner.begin()->value.AsString());
  AMALGAM_ASSIGN_OR_RETURN(FindOptions opts, ExplainedQuery(inner, verb));
  engine::HandlePtr h = ctx.engine.Find(ctx.db, coll);
  r.AppendString("explainVersion", "1");
  r.StartDocument("queryPlanner");
  r.AppendString("namespace", ctx.db + "." + coll);
  r.AppendBool("indexFilterSet", false);
  r.AppendDocument("parsedQuery", opts.filter.view());
  if (!h) {
    r.StartDocument("winningPlan").AppendString("stage", "EOF").EndDocument();
    r.StartArray("rejectedPlans").EndArray();
    r.EndDocument();
    return Status::OK();
  }
  AMALGAM_ASSIGN_OR_RETURN(PreparedQuery q, PrepareQuery(ctx.engine, h, opts, bson::DocView()));
  bool blocking_sort = !opts.sort.view().empty() && !q.plan.provides_sort;
  bson::Document plan = DescribePlan(*h, q.plan, !opts.filter.view().empty(), blocking_sort, !opts.projection.view().empty());
  r.AppendDocument("winningPlan", plan.view());
  r.StartArray("rejectedPlans").EndArray();
  r.EndDocument();
  if (verbosity != "queryPlanner") {
    auto start = std::chrono::steady_clock::now();
    bson::Document doc;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, q.source->Next(&doc));
      if (!more) break;
    }
    int64_t millis = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    r.StartDocument("executionStats");
    r.AppendBool("executionSuccess", true);
    r.AppendInt64("nReturned", q.stats->returned);
    r.AppendInt64("executionTimeMillis", millis);
    r.AppendInt64("totalKeysExamined", q.stats->keys_examined);
    r.AppendInt64("totalDocsExamined", q.stats->docs_examined);
    r.AppendDocument("executionStages", plan.view());
    r.EndDocument();
  }
  r.AppendDocument("command", inner);
  r.StartDocument("serverInfo").AppendString("host", ctx.service.options().advertised_host)
      .AppendInt32("port", ctx.service.options().port).AppendString("version", ctx.service.options().version).EndDocument();
  return Status::OK();
}

}  // namespace

void RegisterFindCommands(CommandRegistry& reg) {
  reg.Add({"explain", Explain});
  reg.Add({"find", Find});
  reg.Add({"count", Count});
  reg.Add({"distinct", Distinct});
}

}  // namespace amalgam::api::mongo
