#include "api/mongo/query_request.h"

#include <algorithm>
#include <functional>

#include "bson/builder.h"
#include "bson/compare.h"
#include "engine/engine.h"
#include "query/matcher.h"
#include "query/projection.h"
#include "query/sort.h"

namespace amalgam::api::mongo {
namespace {

constexpr size_t kSortMemoryLimit = 100u << 20;  // internalQueryMaxBlockingSortMemoryUsageBytes

Status WrongType(std::string_view field, const bson::Value& v, std::string_view expected) {
  return Status(ErrorCode::kTypeMismatch, "BSON field 'find." + std::string(field) + "' is the wrong type '" +
                                              std::string(bson::TypeAlias(v.type())) + "', expected type '" +
                                              std::string(expected) + "'");
}

Result<int64_t> NonNegative(const bson::Value& v, std::string_view field) {
  if (!v.IsNumber()) return WrongType(field, v, "long");
  double d = v.NumberAsDouble();
  int64_t n = v.type() == bson::BsonType::kInt64 ? v.AsInt64() : static_cast<int64_t>(d);
  if (d < 0 || n < 0) {
    return Status(ErrorCode::kFieldValueOutOfRange, "BSON field '" + std::string(field) + "' value must be >= 0, actual value '" +
                                                        std::to_string(n) + "'");
  }
  return n;
}

bool KnownFindField(std::string_view name) {
  static const std::string_view kKnown[] = {
      "find", "filter", "sort", "projection", "hint", "skip", "limit", "batchSize", "singleBatch", "comment",
      "maxTimeMS", "readConcern", "max", "min", "returnKey", "showRecordId", "tailable", "oplogReplay",
      "noCursorTimeout", "awaitData", "allowPartialResults", "collation", "allowDiskUse", "let", "$db", "lsid",
      "$clusterTime", "txnNumber", "$readPreference", "autocommit", "startTransaction", "apiVersion", "apiStrict",
      "apiDeprecationErrors", "readOnce", "term", "$audit", "$client"};
  return std::find(std::begin(kKnown), std::end(kKnown), name) != std::end(kKnown);
}

}  // namespace

Result<FindOptions> ParseFindOptions(bson::DocView cmd) {
  FindOptions o;
  for (const bson::Element& e : cmd) {
    const bson::Value& v = e.value;
    if (e.name == "filter") {
      if (v.type() != bson::BsonType::kDocument) return WrongType(e.name, v, "object");
      o.filter = bson::Document(v.AsDocument());
    } else if (e.name == "sort") {
      if (v.type() != bson::BsonType::kDocument) return WrongType(e.name, v, "object");
      o.sort = bson::Document(v.AsDocument());
    } else if (e.name == "projection") {
      if (v.type() != bson::BsonType::kDocument) return WrongType(e.name, v, "object");
      o.projection = bson::Document(v.AsDocument());
    } else if (e.name == "hint") {
      if (v.type() != bson::BsonType::kDocument && v.type() != bson::BsonType::kString) {
        return Status(ErrorCode::kFailedToParse, "hint must be either a string or nested object");
      }
      bson::Builder b;
      b.AppendValue("h", v);
      o.hint_holder = std::move(b).Finish();
    } else if (e.name == "skip") {
      AMALGAM_ASSIGN_OR_RETURN(o.skip, NonNegative(v, "skip"));
    } else if (e.name == "limit") {
      AMALGAM_ASSIGN_OR_RETURN(o.limit, NonNegative(v, "limit"));
    } else if (e.name == "batchSize") {
      AMALGAM_ASSIGN_OR_RETURN(o.batch_size, NonNegative(v, "batchSize"));
    } else if (e.name == "singleBatch") {
      if (v.type() != bson::BsonType::kBool) return WrongType(e.name, v, "bool");
      o.single_batch = v.AsBool();
    } else if (e.name == "allowDiskUse") {
      if (v.type() != bson::BsonType::kBool) return WrongType(e.name, v, "bool");
      o.allow_disk_use = v.AsBool();
    } else if (e.name == "maxTimeMS") {
      AMALGAM_ASSIGN_OR_RETURN(o.max_time_ms, NonNegative(v, "maxTimeMS"));
      if (o.max_time_ms == 0) o.max_time_ms = -1;  // 0 means no limit
    } else if (e.name == "let") {
      if (v.type() != bson::BsonType::kDocument) return WrongType(e.name, v, "object");
      o.let = bson::Document(v.AsDocument());
    } else if (e.name == "tailable" || e.name == "awaitData") {
      if (v.type() == bson::BsonType::kBool && v.AsBool()) {
        return Status(ErrorCode::kBadValue, "error processing query: tailable cursor requested on non capped collection");
      }
    } else if (!KnownFindField(e.name)) {
      return Status(ErrorCode::kUnknownField, "BSON field 'find." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (!o.hint_holder.view().empty()) o.hint = o.hint_holder.view().Get("h");
  return o;
}

Result<PreparedQuery> PrepareQuery(engine::Engine& engine, engine::HandlePtr coll, const FindOptions& opts,
                                   bson::DocView variables, engine::WriteTxn* txn) {
  query::MatchContext mctx;
  mctx.variables = variables;
  AMALGAM_ASSIGN_OR_RETURN(query::Matcher matcher, query::Matcher::Compile(opts.filter.view(), mctx));
  std::shared_ptr<const query::SortSpec> sort;
  if (!opts.sort.view().empty()) {
    AMALGAM_ASSIGN_OR_RETURN(query::SortSpec spec, query::SortSpec::Compile(opts.sort.view()));
    sort = std::make_shared<const query::SortSpec>(std::move(spec));
  }
  std::shared_ptr<const query::Projection> projection;
  if (!opts.projection.view().empty()) {
    AMALGAM_ASSIGN_OR_RETURN(query::Projection p, query::Projection::Compile(opts.projection.view(), query::ProjectionOptions{}));
    projection = std::make_shared<const query::Projection>(std::move(p));
  }
  query::PlanRequest req;
  req.coll = coll.get();
  req.filter = opts.filter.view();
  req.sort = query::SortFieldsForPlanning(opts.sort.view());
  req.hint = opts.hint;
  PreparedQuery out;
  AMALGAM_ASSIGN_OR_RETURN(out.plan, query::PlanQuery(req));
  out.stats = std::make_shared<query::ExecStats>();
  std::unique_ptr<engine::ReadView> view = txn ? nullptr : engine.Read();
  query::ReadSource src;
  src.view = view.get();
  src.txn = txn;
  bool filter_needed = !opts.filter.view().empty();
  std::unique_ptr<query::Stage> stage =
      query::MakeAccessStage(src, coll, out.plan,
                             filter_needed ? std::make_shared<const query::Matcher>(std::move(matcher)) : nullptr,
                             out.stats.get());
  if (sort && !out.plan.provides_sort) {
    int64_t top = opts.limit > 0 ? opts.skip + opts.limit : 0;
    stage = query::MakeSortStage(
        std::move(stage), [sort](bson::DocView a, bson::DocView b) { return sort->Compare(a, b); }, top, kSortMemoryLimit);
  }
  if (opts.skip > 0 || opts.limit > 0) stage = query::MakeSkipLimitStage(std::move(stage), opts.skip, opts.limit);
  query::Projector projector;
  if (projection) {
    projector = [projection](bson::DocView doc, const query::MatchDetails& details) {
      return projection->Apply(doc, &details);
    };
  }
  out.source = query::MakeDocumentSource(std::move(view), std::move(stage), std::move(projector), out.stats);
  return out;
}

void AddDistinctValues(bson::DocView doc, const bson::FieldPath& path, std::vector<bson::Document>* values) {
  std::vector<bson::Value> found;
  // Walk with implicit array traversal; terminal arrays contribute their elements.
  std::function<void(const bson::Value&, size_t)> walk = [&](const bson::Value& cur, size_t i) {
    if (i == path.size()) {
      if (cur.type() == bson::BsonType::kArray) {
        for (const bson::Element& e : cur.AsDocument()) found.push_back(e.value);
      } else {
        found.push_back(cur);
      }
      return;
    }
    if (cur.type() == bson::BsonType::kDocument) {
      bson::Value next = cur.AsDocument().Get(path.part(i));
      if (!next.missing()) walk(next, i + 1);
    } else if (cur.type() == bson::BsonType::kArray) {
      size_t idx;
      if (bson::IsArrayIndex(path.part(i), &idx)) {
        bson::Value next = cur.AsDocument().Get(path.part(i));
        if (!next.missing()) walk(next, i + 1);
        return;
      }
      for (const bson::Element& e : cur.AsDocument()) {
        if (e.value.type() == bson::BsonType::kDocument) walk(e.value, i);
      }
    }
  };
  walk(bson::Value(bson::BsonType::kDocument, doc.data(), doc.size()), 0);
  for (const bson::Value& v : found) {
    auto pos = std::lower_bound(values->begin(), values->end(), v, [](const bson::Document& d, const bson::Value& x) {
      return bson::CompareValues(d.view().begin()->value, x) < 0;
    });
    if (pos != values->end() && bson::CompareValues(pos->view().begin()->value, v) == 0) continue;
    bson::Builder b;
    b.AppendValue("", v);
    values->insert(pos, std::move(b).Finish());
  }
}

bson::Document DescribePlan(const engine::CollectionHandle& coll, const query::Plan& plan, bool has_filter,
                            bool blocking_sort, bool projection) {
  bson::Builder access;
  switch (plan.kind) {
    case query::Plan::Kind::kCollScan:
      access.AppendString("stage", "COLLSCAN").AppendString("direction", plan.forward ? "forward" : "backward");
      break;
    case query::Plan::Kind::kIdLookup:
      access.AppendString("stage", "IDHACK");
      break;
    case query::Plan::Kind::kIndexScan: {
      const catalog::IndexSpec& spec = coll.indexes[plan.index_pos].spec();
      access.AppendString("stage", "FETCH");
      access.StartDocument("inputStage");
      access.AppendString("stage", "IXSCAN");
      access.AppendDocument("keyPattern", spec.key_pattern.view());
      access.AppendString("indexName", spec.name);
      access.AppendBool("isMultiKey", coll.IsMultikey(plan.index_pos));
      access.AppendBool("isUnique", spec.unique);
      access.AppendBool("isSparse", spec.sparse);
      access.AppendBool("isPartial", spec.partial_filter.has_value());
      access.AppendInt32("indexVersion", 2);
      access.AppendString("direction", plan.forward ? "forward" : "backward");
      access.AppendDocument("indexBounds", plan.bounds.view());
      access.EndDocument();
      break;
    }
  }
  bson::Document node = std::move(access).Finish();
  auto wrap = [](std::string_view stage, bson::Document input) {
    bson::Builder b;
    b.AppendString("stage", stage);
    b.AppendDocument("inputStage", input.view());
    return std::move(b).Finish();
  };
  (void)has_filter;
  if (blocking_sort) node = wrap("SORT", std::move(node));
  if (projection) node = wrap("PROJECTION_DEFAULT", std::move(node));
  return node;
}

}  // namespace amalgam::api::mongo
