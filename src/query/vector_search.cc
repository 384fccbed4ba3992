#include "query/vector_search.h"

#include <cmath>

#include "bson/builder.h"
#include "engine/vector_indexes.h"
#include "query/matcher.h"
#include "query/projection.h"

namespace amalgam::query {
namespace {

using bson::BsonType;

Status Bad(std::string msg) { return Status(ErrorCode::kBadValue, "$vectorSearch " + std::move(msg)); }

Result<int64_t> WholeNumber(const bson::Value& v, std::string_view field) {
  if (!v.IsNumber()) {
    return Status(ErrorCode::kTypeMismatch, "BSON field '$vectorSearch." + std::string(field) +
                                                "' is the wrong type '" + std::string(bson::TypeAlias(v.type())) +
                                                "', expected types '[long, int, decimal, double]'");
  }
  double d = v.NumberAsDouble();
  if (d != std::floor(d) || !std::isfinite(d) || std::fabs(d) > 9e15) {
    return Bad("\"" + std::string(field) + "\" must be an integer");
  }
  return static_cast<int64_t>(d);
}

Status StringField(const bson::Value& v, std::string_view field, std::string* out) {
  if (v.type() != BsonType::kString) {
    return Status(ErrorCode::kTypeMismatch, "BSON field '$vectorSearch." + std::string(field) +
                                                "' is the wrong type '" + std::string(bson::TypeAlias(v.type())) +
                                                "', expected type 'string'");
  }
  *out = std::string(v.AsString());
  return Status::OK();
}

constexpr std::string_view kFieldOps[] = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$not"};
constexpr std::string_view kSupported = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $not, $nor, $and, $or";

Status UnsupportedOp(std::string_view op) {
  return Bad("filter: operator " + std::string(op) + " is not supported; the supported operators are " +
             std::string(kSupported));
}

Status CheckFieldValue(const bson::Value& v, int depth) {
  if (depth > 50) return Bad("filter is nested too deeply");
  if (v.type() != BsonType::kDocument) return Status::OK();  // {path: literal} is $eq
  bson::DocView d = v.AsDocument();
  if (d.empty() || d.begin()->name.empty() || d.begin()->name[0] != '$') return Status::OK();
  for (const bson::Element& e : d) {
    bool known = false;
    for (std::string_view op : kFieldOps) known = known || e.name == op;
    if (!known) return UnsupportedOp(e.name);
    if (e.name == "$not") {
      if (e.value.type() != BsonType::kDocument) return Bad("filter: $not needs an operator document");
      AMALGAM_RETURN_IF_ERROR(CheckFieldValue(e.value, depth + 1));
    } else if ((e.name == "$in" || e.name == "$nin") && e.value.type() != BsonType::kArray) {
      return Bad("filter: " + std::string(e.name) + " needs an array");
    }
  }
  return Status::OK();
}

Status CheckFilter(bson::DocView filter, const engine::VectorIndexDef& def, int depth) {
  if (depth > 50) return Bad("filter is nested too deeply");
  for (const bson::Element& e : filter) {
    if (!e.name.empty() && e.name[0] == '$') {
      if (e.name != "$and" && e.name != "$or" && e.name != "$nor") return UnsupportedOp(e.name);
      if (e.value.type() != BsonType::kArray || e.value.AsDocument().empty()) {
        return Bad("filter: " + std::string(e.name) + " needs a non-empty array");
      }
      for (const bson::Element& sub : e.value.AsDocument()) {
        if (sub.value.type() != BsonType::kDocument) return Bad("filter: " + std::string(e.name) + " entries must be documents");
        AMALGAM_RETURN_IF_ERROR(CheckFilter(sub.value.AsDocument(), def, depth + 1));
      }
      continue;
    }
    if (!def.IsFilterPath(e.name)) {
      return Bad("filter: Path '" + std::string(e.name) + "' needs to be indexed as filter in index '" + def.name + "'");
    }
    AMALGAM_RETURN_IF_ERROR(CheckFieldValue(e.value, depth + 1));
  }
  return Status::OK();
}

// A scalar that equality compares by value (what the index's postings hold).
bool HintLiteral(const bson::Value& v) {
  switch (v.type()) {
    case BsonType::kEod:
    case BsonType::kDocument:
    case BsonType::kArray:
    case BsonType::kNull:
    case BsonType::kUndefined:
    case BsonType::kRegex:
    case BsonType::kMinKey:
    case BsonType::kMaxKey:
      return false;
    default:
      return true;
  }
}

// Conjuncts "path equals one of these scalars": {p: x}, {p: {$eq: x}}, {p: {$in: [...]}}, also
// inside a top-level $and.
void CollectHints(bson::DocView filter, std::vector<engine::VectorDocFilter::EqualityHint>* out, int depth) {
  if (depth > 50) return;
  for (const bson::Element& e : filter) {
    if (e.name == "$and" && e.value.type() == BsonType::kArray) {
      for (const bson::Element& sub : e.value.AsDocument()) {
        if (sub.value.type() == BsonType::kDocument) CollectHints(sub.value.AsDocument(), out, depth + 1);
      }
      continue;
    }
    if (e.name.empty() || e.name[0] == '$') continue;
    if (HintLiteral(e.value)) {
      out->push_back({std::string(e.name), {e.value}});
      continue;
    }
    if (e.value.type() != BsonType::kDocument) continue;
    for (const bson::Element& op : e.value.AsDocument()) {
      if (op.name == "$eq" && HintLiteral(op.value)) {
        out->push_back({std::string(e.name), {op.value}});
      } else if (op.name == "$in" && op.value.type() == BsonType::kArray) {
        engine::VectorDocFilter::EqualityHint h{std::string(e.name), {}};
        bool all = true;
        for (const bson::Element& x : op.value.AsDocument()) {
          all = all && HintLiteral(x.value);
          h.values.push_back(x.value);
        }
        if (all) out->push_back(std::move(h));
      }
    }
  }
}

class MatcherFilter final : public engine::VectorDocFilter {
 public:
  // `filter` must outlive this object (hints borrow its values).
  MatcherFilter(Matcher m, bson::DocView filter) : m_(std::move(m)), filter_(filter) {}
  bool Matches(bson::DocView doc) const override { return m_.Matches(doc); }
  std::vector<EqualityHint> EqualityHints() const override {
    std::vector<EqualityHint> out;
    CollectHints(filter_, &out, 0);
    return out;
  }

 private:
  Matcher m_;
  bson::DocView filter_;
};

class MetaVectorStage final : public Stage {
 public:
  MetaVectorStage(std::vector<bson::Document> docs, std::vector<bson::Document> metas)
      : docs_(std::move(docs)), metas_(std::move(metas)) {}
  Result<bool> Next(Row* row) override {
    if (pos_ >= docs_.size()) return false;
    row->doc = std::move(docs_[pos_]);
    row->meta = pos_ < metas_.size() ? std::move(metas_[pos_]) : bson::Document();
    row->details = MatchDetails();
    ++pos_;
    return true;
  }

 private:
  std::vector<bson::Document> docs_, metas_;
  size_t pos_ = 0;
};

// Stands for a first-stage source whose rows the face feeds in as the pipeline's input.
class SourcePlaceholder final : public pipeline_internal::StageSpec {
 public:
  explicit SourcePlaceholder(std::string_view name) : name_(name) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> input, const pipeline_internal::ExecEnv&) const override {
    return input;
  }

 private:
  std::string_view name_;
};

}  // namespace

Result<VectorSearchRequest> ParseVectorSearchRequest(const bson::Value& arg) {
  if (arg.type() != BsonType::kDocument) {
    return Status(ErrorCode::kFailedToParse, "$vectorSearch must take a nested object but found: " +
                                                 std::string(bson::TypeAlias(arg.type())));
  }
  VectorSearchRequest r;
  bool have_index = false, have_path = false, have_vector = false, have_limit = false, have_cands = false;
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name == "index") {
      AMALGAM_RETURN_IF_ERROR(StringField(e.value, e.name, &r.index));
      have_index = true;
    } else if (e.name == "path") {
      AMALGAM_RETURN_IF_ERROR(StringField(e.value, e.name, &r.path));
      have_path = true;
    } else if (e.name == "queryVector") {
      AMALGAM_ASSIGN_OR_RETURN(r.query_vector, engine::VectorFromValue(e.value, "$vectorSearch.queryVector"));
      if (r.query_vector.empty()) return Bad("\"queryVector\" must not be empty");
      have_vector = true;
    } else if (e.name == "numCandidates") {
      AMALGAM_ASSIGN_OR_RETURN(r.num_candidates, WholeNumber(e.value, e.name));
      have_cands = true;
    } else if (e.name == "limit") {
      AMALGAM_ASSIGN_OR_RETURN(r.limit, WholeNumber(e.value, e.name));
      have_limit = true;
    } else if (e.name == "exact") {
      if (e.value.type() != BsonType::kBool) {
        return Status(ErrorCode::kTypeMismatch, "BSON field '$vectorSearch.exact' is the wrong type '" +
                                                    std::string(bson::TypeAlias(e.value.type())) +
                                                    "', expected type 'bool'");
      }
      r.exact = e.value.AsBool();
    } else if (e.name == "filter") {
      if (e.value.type() != BsonType::kDocument) {
        return Status(ErrorCode::kTypeMismatch, "BSON field '$vectorSearch.filter' is the wrong type '" +
                                                    std::string(bson::TypeAlias(e.value.type())) +
                                                    "', expected type 'object'");
      }
      r.filter = bson::Document(e.value.AsDocument());
    } else {
      return Status(ErrorCode::kUnknownField,
                    "BSON field '$vectorSearch." + std::string(e.name) + "' is an unknown field.");
    }
  }
  auto missing = [](std::string_view f) {
    return Status(ErrorCode::kMissingRequiredField,
                  "BSON field '$vectorSearch." + std::string(f) + "' is missing but a required field");
  };
  if (!have_index) return missing("index");
  if (!have_path) return missing("path");
  if (!have_vector) return missing("queryVector");
  if (!have_limit) return missing("limit");
  if (r.limit < 1) return Bad("\"limit\" must be a positive integer");
  if (r.exact) {
    if (have_cands) return Bad("\"numCandidates\" must not be specified when \"exact\" is true");
  } else {
    if (!have_cands) return Bad("\"numCandidates\" is required for approximate search (\"exact\" is false)");
    if (r.num_candidates < 1 || r.num_candidates > kMaxNumCandidates) {
      return Bad("\"numCandidates\" must be between 1 and " + std::to_string(kMaxNumCandidates));
    }
    if (r.limit > r.num_candidates) return Bad("\"numCandidates\" must be greater than or equal to \"limit\"");
  }
  return r;
}

Status CheckVectorSearchFilter(bson::DocView filter, const engine::VectorIndexDef& def) {
  return CheckFilter(filter, def, 0);
}

Result<std::unique_ptr<Stage>> RunVectorSearch(engine::Engine& engine, std::string_view db, std::string_view coll,
                                               const VectorSearchRequest& request) {
  engine::VectorQuery q;
  q.index = request.index;
  q.path = request.path;
  q.vector = request.query_vector;
  q.limit = static_cast<size_t>(request.limit);
  q.num_candidates = static_cast<size_t>(request.num_candidates);
  q.exact = request.exact;
  std::optional<MatcherFilter> filter;
  if (!request.filter.view().empty()) {
    std::optional<engine::VectorIndexDef> def = engine.vectors().Definition(db, coll, request.index);
    if (!def) return MakeMetaVectorStage({}, {});  // unknown index: no results
    AMALGAM_RETURN_IF_ERROR(CheckVectorSearchFilter(request.filter.view(), *def));
    Result<Matcher> m = Matcher::Compile(request.filter.view(), MatchContext{});
    if (!m.ok()) return Bad("filter: " + std::string(m.status().message()));
    filter.emplace(std::move(m).value(), request.filter.view());
    q.filter = &*filter;
  }
  AMALGAM_ASSIGN_OR_RETURN(std::vector<engine::VectorMatch> matches, engine.vectors().Search(db, coll, q));
  std::vector<bson::Document> docs, metas;
  docs.reserve(matches.size());
  metas.reserve(matches.size());
  for (engine::VectorMatch& m : matches) {
    docs.push_back(std::move(m.doc));
    bson::Builder b;
    b.AppendDouble("vectorSearchScore", m.score);
    metas.push_back(std::move(b).Finish());
  }
  return MakeMetaVectorStage(std::move(docs), std::move(metas));
}

std::unique_ptr<Stage> MakeMetaVectorStage(std::vector<bson::Document> docs, std::vector<bson::Document> metas) {
  return std::make_unique<MetaVectorStage>(std::move(docs), std::move(metas));
}

std::string_view FirstStageName(bson::DocView pipeline) {
  for (const bson::Element& e : pipeline) {
    if (e.value.type() != BsonType::kDocument || e.value.AsDocument().empty()) return "";
    return e.value.AsDocument().begin()->name;
  }
  return "";
}

namespace pipeline_internal {

Status ParseVectorSearchStage(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (env.in_facet) return MongoCodedError(40600, "$vectorSearch is not allowed to be used within a $facet stage");
  if (env.position != 0) {
    return MongoCodedError(40602, "$vectorSearch is only valid as the first stage in a pipeline");
  }
  AMALGAM_RETURN_IF_ERROR(ParseVectorSearchRequest(arg).status());
  out->push_back(std::make_shared<SourcePlaceholder>("$vectorSearch"));
  return Status::OK();
}

Status ParseListSearchIndexesStage(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (env.in_facet) {
    return MongoCodedError(40600, "$listSearchIndexes is not allowed to be used within a $facet stage");
  }
  if (env.position != 0) {
    return MongoCodedError(40602, "$listSearchIndexes is only valid as the first stage in a pipeline");
  }
  if (arg.type() != BsonType::kDocument) {
    return Status(ErrorCode::kFailedToParse, "$listSearchIndexes must take a nested object");
  }
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name != "name" && e.name != "id") {
      return Status(ErrorCode::kUnknownField,
                    "BSON field '$listSearchIndexes." + std::string(e.name) + "' is an unknown field.");
    }
    if (e.value.type() != BsonType::kString) {
      return Status(ErrorCode::kTypeMismatch, "BSON field '$listSearchIndexes." + std::string(e.name) +
                                                  "' is the wrong type '" +
                                                  std::string(bson::TypeAlias(e.value.type())) +
                                                  "', expected type 'string'");
    }
  }
  if (!arg.AsDocument().Get("name").missing() && !arg.AsDocument().Get("id").missing()) {
    return Status(ErrorCode::kInvalidOptions, "Cannot set both 'name' and 'id' for $listSearchIndexes.");
  }
  out->push_back(std::make_shared<SourcePlaceholder>("$listSearchIndexes"));
  return Status::OK();
}

}  // namespace pipeline_internal
}  // namespace amalgam::query
