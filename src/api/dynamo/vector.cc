#include "api/dynamo/vector.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <set>

#include "api/dynamo/item_ops.h"
#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/model/expression.h"
#include "api/dynamo/model/json.h"
#include "bson/builder.h"
#include "engine/vector_indexes.h"

namespace amalgam::api::dynamo {
namespace {

using index::VectorMetric;

constexpr int64_t kMaxTopK = 100;  // DynamoDB's limit

std::string_view SimilarityName(std::string_view distance) {
  if (distance == "COSINE") return "cosine";
  if (distance == "EUCLIDEAN") return "euclidean";
  if (distance == "DOT_PRODUCT") return "dotProduct";
  return {};
}

std::string_view DistanceName(VectorMetric m) {
  switch (m) {
    case VectorMetric::kCosine:
      return "COSINE";
    case VectorMetric::kEuclidean:
      return "EUCLIDEAN";
    case VectorMetric::kDotProduct:
      return "DOT_PRODUCT";
  }
  return "COSINE";
}

Status Bad(const std::string& where, std::string_view what) { return Validation(where + " " + std::string(what)); }

const JsonValue* Member(const JsonValue& obj, const char* name) {
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
}

Result<ParsedVectorIndex> ParseOne(const JsonValue& v, const std::string& where) {
  ParsedVectorIndex out;
  if (!v.IsObject()) return Bad(where, "must be an object");
  const JsonValue* name = Member(v, "IndexName");
  if (name == nullptr || !name->IsString()) return Bad(where + ".IndexName", "is required and must be a string");
  ValidationErrors errors;
  CheckTableName(AsView(*name), where + ".IndexName", &errors);
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  const JsonValue* attr = Member(v, "VectorAttribute");
  const JsonValue* attr_name = attr != nullptr && attr->IsObject() ? Member(*attr, "AttributeName") : nullptr;
  if (attr_name == nullptr || !attr_name->IsString() || attr_name->GetStringLength() == 0) {
    return Bad(where + ".VectorAttribute.AttributeName", "is required and must be a non-empty string");
  }
  std::string path(AsView(*attr_name));
  if (path.find('.') != std::string::npos || path[0] == '$' || path == "_id") {
    return Bad(where + ".VectorAttribute.AttributeName", "cannot contain '.', start with '$' or be _id");
  }
  const JsonValue* dims = Member(v, "Dimensions");
  if (dims == nullptr || !dims->IsInt64()) return Bad(where + ".Dimensions", "is required and must be an integer");
  if (dims->GetInt64() < 1 || dims->GetInt64() > engine::kMaxVectorDims) {
    return Bad(where + ".Dimensions", "must be between 1 and " + std::to_string(engine::kMaxVectorDims));
  }
  const JsonValue* dist = Member(v, "DistanceFunction");
  if (dist == nullptr || !dist->IsString() || SimilarityName(AsView(*dist)).empty()) {
    return Bad(where + ".DistanceFunction", "must be one of [COSINE, EUCLIDEAN, DOT_PRODUCT]");
  }
  const JsonValue* proj = Member(v, "Projection");
  if (proj == nullptr || !proj->IsObject()) return Bad(where + ".Projection", "is required");
  const JsonValue* ptype = Member(*proj, "ProjectionType");
  out.meta.projection = ptype != nullptr && ptype->IsString() ? std::string(AsView(*ptype)) : "ALL";
  if (out.meta.projection != "ALL" && out.meta.projection != "KEYS_ONLY" && out.meta.projection != "INCLUDE") {
    return Bad(where + ".Projection.ProjectionType", "must be one of [ALL, KEYS_ONLY, INCLUDE]");
  }
  if (const JsonValue* nk = Member(*proj, "NonKeyAttributes")) {
    if (!nk->IsArray()) return Bad(where + ".Projection.NonKeyAttributes", "must be a list");
    for (const JsonValue& a : nk->GetArray()) {
      if (!a.IsString()) return Bad(where + ".Projection.NonKeyAttributes", "must be a list of strings");
      out.meta.non_key.emplace_back(AsView(a));
    }
  }
  if ((out.meta.projection == "INCLUDE") != !out.meta.non_key.empty()) {
    return Bad(where + ".Projection.NonKeyAttributes",
               "must be given (non-empty) exactly when ProjectionType is INCLUDE");
  }
  bson::Builder b;
  b.StartArray("fields");
  b.StartDocument("0")
      .AppendString("type", "vector")
      .AppendString("path", path)
      .AppendInt32("numDimensions", static_cast<int32_t>(dims->GetInt64()))
      .AppendString("similarity", SimilarityName(AsView(*dist)))
      .EndDocument();
  int i = 1;
  if (const JsonValue* schema = Member(v, "SearchSchema")) {
    if (!schema->IsArray()) return Bad(where + ".SearchSchema", "must be a list");
    for (rapidjson::SizeType k = 0; k < schema->Size(); ++k) {
      const JsonValue& e = (*schema)[k];
      std::string ew = where + ".SearchSchema[" + std::to_string(k) + "]";
      const JsonValue* an = e.IsObject() ? Member(e, "AttributeName") : nullptr;
      const JsonValue* t = e.IsObject() ? Member(e, "SearchSchemaElementType") : nullptr;
      if (an == nullptr || !an->IsString() || an->GetStringLength() == 0)
        return Bad(ew + ".AttributeName", "is required");
      if (t == nullptr || !t->IsString() || (AsView(*t) != "HASH" && AsView(*t) != "INLINE_FILTER")) {
        return Bad(ew + ".SearchSchemaElementType", "must be one of [HASH, INLINE_FILTER]");
      }
      std::string fp(AsView(*an));
      if (fp.find('.') != std::string::npos || fp[0] == '$')
        return Bad(ew + ".AttributeName", "cannot contain '.' or start with '$'");
      b.StartDocument(std::to_string(i++)).AppendString("type", "filter").AppendString("path", fp).EndDocument();
      if (AsView(*t) == "HASH") out.meta.hash.push_back(fp);
    }
  }
  b.EndArray();
  bson::Document definition = std::move(b).Finish();
  Result<engine::VectorIndexDef> def = engine::ParseAtlasVectorDefinition(AsView(*name), definition.view());
  if (!def.ok()) return Bad(where, "is invalid: " + std::string(def.status().message()));
  out.def = std::move(*def);
  out.meta.name = out.def.name;
  return out;
}

// DynamoDB's score: COSINE distance 1 - cos (0..2), EUCLIDEAN distance, DOT_PRODUCT the dot
// product; computed exactly in double from the stored vector.
double DynamoScore(VectorMetric m, const std::vector<float>& q, const std::vector<float>& v) {
  double dot = 0, qq = 0, vv = 0, l2 = 0;
  for (size_t i = 0; i < q.size() && i < v.size(); ++i) {
    double a = q[i], c = v[i];
    dot += a * c;
    qq += a * a;
    vv += c * c;
    l2 += (a - c) * (a - c);
  }
  switch (m) {
    case VectorMetric::kCosine:
      return qq == 0 || vv == 0 ? 1.0 : 1.0 - dot / (std::sqrt(qq) * std::sqrt(vv));
    case VectorMetric::kEuclidean:
      return std::sqrt(l2);
    case VectorMetric::kDotProduct:
      return dot;
  }
  return 0;
}

// A SearchConditionExpression evaluated on the item a document (the index's filter values)
// reads as. Its top-level conjuncts `attr = :v` and `attr IN (...)` on S/N/B values become
// equality hints, so the engine can search only the items with those values.
class ConditionFilter : public engine::VectorDocFilter {
 public:
  ConditionFilter(const model::KeySchema& key, const model::Condition& c) : key_(key), c_(c) { CollectHints(c); }
  bool Matches(bson::DocView doc) const override {
    return model::EvaluateCondition(c_, model::ItemFromBson(key_, doc));
  }
  std::vector<EqualityHint> EqualityHints() const override {
    std::vector<EqualityHint> out;
    for (const auto& [path, values] : hints_) {
      EqualityHint h;
      h.path = path;
      for (const bson::Element& e : values->view()) h.values.push_back(e.value);
      out.push_back(std::move(h));
    }
    return out;
  }

 private:
  static bool Scalar(const model::AttributeValue& v) {
    return v.type == model::AttrType::kS || v.type == model::AttrType::kN || v.type == model::AttrType::kB;
  }
  static const std::string* TopLevelName(const model::Operand& o) {
    return o.kind == model::Operand::Kind::kPath && o.path.size() == 1 && !o.path[0].is_index ? &o.path[0].name
                                                                                              : nullptr;
  }
  void AddHint(const std::string& name, const std::vector<const model::AttributeValue*>& values) {
    bson::Builder b;
    for (size_t i = 0; i < values.size(); ++i) {
      const model::AttributeValue& v = *values[i];
      std::string field = std::to_string(i);
      if (v.type == model::AttrType::kS) {
        b.AppendString(field, v.scalar);
      } else if (v.type == model::AttrType::kN) {
        model::AppendNumber(v.scalar, b, field);
      } else {
        b.AppendBinary(field, 0, {reinterpret_cast<const uint8_t*>(v.scalar.data()), v.scalar.size()});
      }
    }
    hints_.emplace_back(name, std::make_unique<bson::Document>(std::move(b).Finish()));
  }
  void CollectHints(const model::Condition& c) {
    using Kind = model::Condition::Kind;
    if (c.kind == Kind::kAnd) {
      for (const model::Condition& child : c.children) CollectHints(child);
    } else if (c.kind == Kind::kCompare && c.op == model::CompareOp::kEq && c.operands.size() == 2) {
      for (int side = 0; side < 2; ++side) {
        const std::string* name = TopLevelName(c.operands[side]);
        const model::Operand& other = c.operands[1 - side];
        if (name != nullptr && other.kind == model::Operand::Kind::kValue && Scalar(other.value)) {
          AddHint(*name, {&other.value});
          return;
        }
      }
    } else if (c.kind == Kind::kIn && !c.operands.empty()) {
      const std::string* name = TopLevelName(c.operands[0]);
      if (name == nullptr) return;
      std::vector<const model::AttributeValue*> values;
      for (size_t i = 1; i < c.operands.size(); ++i) {
        if (c.operands[i].kind != model::Operand::Kind::kValue || !Scalar(c.operands[i].value)) return;
        values.push_back(&c.operands[i].value);
      }
      AddHint(*name, values);
    }
  }

  const model::KeySchema& key_;
  const model::Condition& c_;
  std::vector<std::pair<std::string, std::unique_ptr<bson::Document>>> hints_;  // values borrowed by hints
};

}  // namespace

Result<std::vector<ParsedVectorIndex>> ParseVectorIndexes(const JsonValue& list) {
  std::vector<ParsedVectorIndex> out;
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    AMALGAM_ASSIGN_OR_RETURN(ParsedVectorIndex p, ParseOne(list[i], "VectorIndexes[" + std::to_string(i) + "]"));
    if (!names.insert(p.def.name).second) {
      return Validation("One or more parameter values were invalid: Duplicate index name: " + p.def.name);
    }
    out.push_back(std::move(p));
  }
  return out;
}

Status CheckSearchSchemaDefined(const std::vector<ParsedVectorIndex>& indexes,
                                const std::vector<std::pair<std::string, char>>& new_defs, TableMeta* meta) {
  for (const ParsedVectorIndex& p : indexes) {
    for (const std::string& attr : p.def.filter_paths) {
      auto given = std::find_if(new_defs.begin(), new_defs.end(), [&](const auto& d) { return d.first == attr; });
      char existing = meta->AttributeType(attr);
      if (existing != 0 && given != new_defs.end() && given->second != existing) {
        return Validation(
            "One or more parameter values were invalid: Cannot change the type of an existing attribute: " + attr);
      }
      if (existing != 0) continue;
      if (given == new_defs.end()) {
        return Validation("One element in SearchSchema is not defined in attribute definitions");
      }
      meta->attribute_definitions.push_back(*given);
    }
  }
  return Status::OK();
}

Status CreateVectorIndexes(OpContext& ctx, std::string_view table, std::vector<ParsedVectorIndex> indexes) {
  for (ParsedVectorIndex& p : indexes) {
    Result<engine::VectorIndexInfo> made = ctx.state.engine.vectors().Create(kDynamoDb, table, std::move(p.def));
    if (!made.ok()) return made.status();
  }
  return Status::OK();
}

Result<VectorIndexUpdates> ParseVectorIndexUpdates(OpContext& ctx, std::string_view table, const JsonValue& list) {
  VectorIndexUpdates out;
  if (list.Size() == 0) return Validation("VectorIndexUpdates must not be empty");
  std::vector<engine::VectorIndexInfo> existing = ctx.state.engine.vectors().List(kDynamoDb, table);
  auto exists = [&](std::string_view name) {
    return std::any_of(existing.begin(), existing.end(),
                       [&](const engine::VectorIndexInfo& x) { return x.name == name; });
  };
  std::set<std::string> touched;
  for (rapidjson::SizeType i = 0; i < list.Size(); ++i) {
    std::string where = "VectorIndexUpdates[" + std::to_string(i) + "]";
    const JsonValue& u = list[i];
    if (!u.IsObject()) return Bad(where, "must be an object");
    const JsonValue* create = Member(u, "Create");
    const JsonValue* del = Member(u, "Delete");
    if ((create == nullptr) == (del == nullptr)) return Bad(where, "must contain exactly one of Create or Delete");
    if (create != nullptr) {
      AMALGAM_ASSIGN_OR_RETURN(ParsedVectorIndex p, ParseOne(*create, where + ".Create"));
      if (!touched.insert(p.def.name).second || exists(p.def.name)) {
        return Validation("One or more parameter values were invalid: Vector index " + p.def.name + " already exists");
      }
      out.create.push_back(std::move(p));
    } else {
      const JsonValue* name = del->IsObject() ? Member(*del, "IndexName") : nullptr;
      if (name == nullptr || !name->IsString())
        return Bad(where + ".Delete.IndexName", "is required and must be a string");
      std::string n(AsView(*name));
      if (!exists(n)) {
        return Status(ErrorCode::kIndexNotFound,
                      "Requested resource not found: Vector index " + n + " not found on table " + std::string(table));
      }
      if (!touched.insert(n).second)
        return Validation("One or more parameter values were invalid: Vector index " + n +
                          " appears more than once in VectorIndexUpdates");
      out.drop.push_back(std::move(n));
    }
  }
  return out;
}

Status ApplyVectorIndexUpdates(OpContext& ctx, TableMeta* meta, VectorIndexUpdates updates) {
  for (const std::string& name : updates.drop) {
    AMALGAM_RETURN_IF_ERROR(ctx.state.engine.vectors().Drop(kDynamoDb, meta->name, name));
    std::erase_if(meta->vector_indexes, [&](const VectorIndexMeta& v) { return v.name == name; });
  }
  for (const ParsedVectorIndex& p : updates.create) {
    std::erase_if(meta->vector_indexes, [&](const VectorIndexMeta& v) { return v.name == p.meta.name; });
    meta->vector_indexes.push_back(p.meta);
  }
  return CreateVectorIndexes(ctx, meta->name, std::move(updates.create));
}

void WriteVectorIndexDescriptions(OpContext& ctx, const TableMeta& meta) {
  std::string_view table = meta.name;
  std::vector<engine::VectorIndexInfo> list = ctx.state.engine.vectors().List(kDynamoDb, table);
  if (list.empty()) return;
  JsonWriter& w = ctx.out;
  WriteKey(w, "VectorIndexes");
  w.StartArray();
  for (const engine::VectorIndexInfo& ix : list) {
    if (ix.def.vectors.empty()) continue;
    const engine::VectorFieldDef& f = ix.def.vectors.front();
    static const VectorIndexMeta kDefaultMeta;
    const VectorIndexMeta* vm = meta.FindVectorIndex(ix.name);
    if (vm == nullptr) vm = &kDefaultMeta;
    w.StartObject();
    WriteKey(w, "IndexName");
    WriteString(w, ix.name);
    if (!ix.def.filter_paths.empty()) {
      WriteKey(w, "SearchSchema");
      w.StartArray();
      for (const std::string& p : ix.def.filter_paths) {
        w.StartObject();
        WriteKey(w, "AttributeName");
        WriteString(w, p);
        WriteKey(w, "SearchSchemaElementType");
        bool hash = std::find(vm->hash.begin(), vm->hash.end(), p) != vm->hash.end();
        WriteString(w, hash ? "HASH" : "INLINE_FILTER");
        w.EndObject();
      }
      w.EndArray();
    }
    WriteKey(w, "Projection");
    w.StartObject();
    WriteKey(w, "ProjectionType");
    WriteString(w, vm->projection);
    if (!vm->non_key.empty()) {
      WriteKey(w, "NonKeyAttributes");
      w.StartArray();
      for (const std::string& a : vm->non_key) WriteString(w, a);
      w.EndArray();
    }
    w.EndObject();
    WriteKey(w, "VectorAttribute");
    w.StartObject();
    WriteKey(w, "AttributeName");
    WriteString(w, f.path);
    w.EndObject();
    WriteKey(w, "Dimensions");
    w.Int64(f.dims);
    WriteKey(w, "DistanceFunction");
    WriteString(w, DistanceName(f.metric));
    bool ready = ix.status == engine::VectorIndexStatus::kReady;
    WriteKey(w, "IndexStatus");
    WriteString(w, ready ? "ACTIVE" : "CREATING");
    if (!ready) {  // reported while the engine builds the index over existing items (absent after)
      WriteKey(w, "Backfilling");
      w.Bool(true);
    }
    WriteKey(w, "IndexSizeBytes");
    w.Int64(static_cast<int64_t>(ix.memory_bytes));
    WriteKey(w, "ItemCount");
    w.Int64(static_cast<int64_t>(ix.vectors));
    WriteKey(w, "IndexArn");
    WriteString(w, TableArn(ctx.state, table) + "/index/" + ix.name);
    w.EndObject();
  }
  w.EndArray();
}

Status SearchVectors(OpContext& ctx) {
  const Params& params = ctx.params;
  ValidationErrors errors;
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> table_name, params.String("TableName"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> index_name, params.String("IndexName"));
  AMALGAM_ASSIGN_OR_RETURN(const JsonValue* search_vector, params.Array("SearchVector"));
  AMALGAM_ASSIGN_OR_RETURN(std::optional<int64_t> top_k, params.Int("TopK"));
  if (!table_name) errors.AddNull("tableName");
  if (!index_name) errors.AddNull("indexName");
  if (search_vector == nullptr) errors.AddNull("searchVector");
  if (!top_k) {
    errors.AddNull("topK");
  }
  AMALGAM_RETURN_IF_ERROR(errors.ToStatus());
  if (*top_k < 1 || *top_k > kMaxTopK) return Validation("Provided TopK value is out of valid range");

  AMALGAM_ASSIGN_OR_RETURN(Table table, ctx.state.tables.Open(ctx.state.engine, *table_name, /*detailed=*/true));
  std::optional<engine::VectorIndexDef> def =
      ctx.state.engine.vectors().Definition(kDynamoDb, table.meta->name, *index_name);
  if (!def || def->vectors.empty()) {
    return Status(ErrorCode::kIndexNotFound, "Requested resource not found: Vector index " + std::string(*index_name) +
                                                 " not found on table " + table.meta->name);
  }
  const engine::VectorFieldDef& field = def->vectors.front();

  std::vector<float> q;
  q.reserve(search_vector->Size());
  for (rapidjson::SizeType i = 0; i < search_vector->Size(); ++i) {
    AMALGAM_ASSIGN_OR_RETURN(model::AttributeValue av, model::ParseAttributeValue((*search_vector)[i]));
    if (av.type != model::AttrType::kN) {
      return Validation("SearchVector[" + std::to_string(i) + "] must be a number (N)");
    }
    double d = std::strtod(av.scalar.c_str(), nullptr);
    if (!std::isfinite(d) || std::fabs(d) > 3.4028234663852886e38) {
      return Validation("SearchVector[" + std::to_string(i) + "] is not a 32-bit floating point number");
    }
    q.push_back(static_cast<float>(d));
  }
  if (q.size() != field.dims) {
    return Validation("SearchVector has " + std::to_string(q.size()) + " dimensions but vector index " + def->name +
                      " has " + std::to_string(field.dims));
  }

  AMALGAM_ASSIGN_OR_RETURN(CapacityMode capacity, ReadCapacityMode(params));
  AMALGAM_ASSIGN_OR_RETURN(model::ExpressionAttributes attrs, ReadExpressionAttributes(params));
  std::optional<model::Condition> condition;
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string_view> cond_text, params.String("SearchConditionExpression"));
  if (cond_text) {
    AMALGAM_ASSIGN_OR_RETURN(model::Condition c,
                             model::ParseCondition(*cond_text, model::ExpressionKind::kFilter, attrs));
    std::set<std::string> used;
    model::CollectConditionAttributes(c, &used);
    for (const std::string& a : used) {
      if (!def->IsFilterPath(a)) {
        return Validation("Invalid SearchConditionExpression: attribute " + a +
                          " is not in the SearchSchema of vector index " + def->name);
      }
    }
    condition = std::move(c);
  }
  const VectorIndexMeta* vm = table.meta->FindVectorIndex(def->name);
  if (vm != nullptr && !vm->hash.empty() && !condition) {
    return Validation("SearchConditionExpression must be provided when SearchSchema has a HASH key");
  }
  if (vm != nullptr) {
    std::set<std::string> used;
    if (condition) model::CollectConditionAttributes(*condition, &used);
    for (const std::string& h : vm->hash) {
      if (used.count(h) == 0) {
        return Validation("SearchConditionExpression must provide a value for " + h +
                          ", the HASH attribute of the SearchSchema of vector index " + def->name);
      }
    }
  }
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::vector<model::DocumentPath>> projection, ReadProjection(params, attrs));
  AMALGAM_RETURN_IF_ERROR(attrs.CheckAllUsed());

  std::optional<ConditionFilter> filter;
  if (condition) filter.emplace(table.meta->key, *condition);
  engine::VectorQuery query;
  query.index = def->name;
  query.path = field.path;
  query.vector = q;
  query.limit = static_cast<size_t>(*top_k);
  query.num_candidates = std::max<size_t>(query.limit * 10, 100);
  query.filter = filter ? &*filter : nullptr;
  engine::VectorSearchStats stats;
  AMALGAM_ASSIGN_OR_RETURN(std::vector<engine::VectorMatch> matches,
                           ctx.state.engine.vectors().Search(kDynamoDb, table.meta->name, query, &stats));
  // VectorSearchRequestBytes "scales with the size of the vector data the search examines and
  // returns" (DynamoDB's formula is not published): here the float32 vectors the search scored
  // (the candidate list and the unapplied changes) plus the returned items' sizes.
  double request_bytes = static_cast<double>((query.num_candidates + stats.pending_changes) * field.dims * 4);

  JsonWriter& w = ctx.out;
  w.StartObject();
  WriteKey(w, "SearchResults");
  w.StartArray();
  for (const engine::VectorMatch& m : matches) {
    std::optional<std::vector<float>> v = engine::ExtractVector(m.doc.view(), field.path, field.dims, field.metric);
    if (!v) continue;  // the engine only returns documents with a usable vector
    model::Item item = model::ItemFromBson(table.meta->key, m.doc.view());
    if (vm != nullptr && vm->projection != "ALL") {
      // The index's projection: the table's key and the HASH attributes (KEYS_ONLY), plus the
      // NonKeyAttributes (INCLUDE).
      std::erase_if(item, [&](const auto& kv) {
        const std::string& a = kv.first;
        return !table.meta->IsKeyAttribute(a) && std::find(vm->hash.begin(), vm->hash.end(), a) == vm->hash.end() &&
               std::find(vm->non_key.begin(), vm->non_key.end(), a) == vm->non_key.end();
      });
    }
    if (projection) item = model::ApplyProjection(item, *projection);
    request_bytes += static_cast<double>(model::ItemSize(item));
    w.StartObject();
    WriteKey(w, "Item");
    model::WriteItem(item, w);
    WriteKey(w, "Score");
    w.Double(DynamoScore(field.metric, q, *v));
    w.EndObject();
  }
  w.EndArray();
  if (capacity != CapacityMode::kNone) {
    WriteKey(w, "ConsumedCapacity");
    w.StartObject();
    WriteKey(w, "VectorSearchRequestBytes");
    w.Double(request_bytes);
    w.EndObject();
  }
  w.EndObject();
  return Status::OK();
}

}  // namespace amalgam::api::dynamo
