// Pipeline-style updates: $set/$addFields, $unset, $project, $replaceWith/$replaceRoot, with
// values from query/expression.h.

#include <string>

#include "bson/json.h"
#include "bson/validate.h"
#include "query/update_internal.h"

namespace amalgam::query::update_internal {

using bson::BsonType;
using bson::Value;

namespace {

Status Bad(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }

struct FieldSpec {
  std::vector<std::string> parts;
  std::unique_ptr<Expression> expr;  // null: include (projection) / exclude
  bool include = false;
};

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

bool IsOperatorObject(const Value& v) {
  if (v.type() != BsonType::kDocument || v.AsDocument().empty()) return false;
  std::string_view first = (*v.AsDocument().begin()).name;
  return !first.empty() && first[0] == '$';
}

Status CheckFieldPath(std::string_view path, std::string_view stage) {
  if (path.empty()) return Bad("Invalid " + std::string(stage) + " :: caused by :: FieldPath cannot be constructed with empty string");
  if (path[0] == '$') {
    return Bad("Invalid " + std::string(stage) + " :: caused by :: FieldPath field names may not start with '$'. Consider using $getField or $setField.");
  }
  for (const std::string& p : SplitPath(path)) {
    if (p.empty()) return Bad("Invalid " + std::string(stage) + " :: caused by :: FieldPath field names may not be empty strings.");
  }
  return Status::OK();
}

}  // namespace

struct PipelineStage {
  enum class Kind : uint8_t { kAddFields, kUnset, kProject, kReplaceRoot };
  Kind kind;
  std::vector<FieldSpec> fields;
  bool inclusion = false;
  bool exclude_id = false;
  std::unique_ptr<Expression> root;
};

namespace {

// Flattens {a: {b: <expr>}} into "a.b": <expr> for $addFields and $project.
Status ParseFieldSpecs(bson::DocView spec, const std::string& prefix, bool projection,
                       const ExprParseContext& pctx, std::string_view stage, PipelineStage* out,
                       int depth) {
  if (depth > 100) return Bad("specification nested too deeply");
  for (const bson::Element& e : spec) {
    std::string path = prefix.empty() ? std::string(e.name) : prefix + "." + std::string(e.name);
    AMALGAM_RETURN_IF_ERROR(CheckFieldPath(e.name, stage));
    if (e.value.type() == BsonType::kDocument && !IsOperatorObject(e.value)) {
      if (e.value.AsDocument().empty()) {
        return Bad("Invalid " + std::string(stage) + " :: caused by :: An empty sub-projection is not a valid value. Found empty object at path");
      }
      AMALGAM_RETURN_IF_ERROR(ParseFieldSpecs(e.value.AsDocument(), path, projection, pctx, stage, out, depth + 1));
      continue;
    }
    FieldSpec f;
    f.parts = SplitPath(path);
    if (projection && (e.value.IsNumber() || e.value.type() == BsonType::kBool)) {
      f.include = e.value.type() == BsonType::kBool ? e.value.AsBool() : e.value.NumberAsDouble() != 0;
    } else {
      AMALGAM_ASSIGN_OR_RETURN(f.expr, Expression::Parse(e.value, pctx));
      f.include = true;
    }
    out->fields.push_back(std::move(f));
  }
  return Status::OK();
}

Result<std::shared_ptr<PipelineStage>> ParseStage(const bson::Element& stage_el, bson::DocView variables) {
  if (stage_el.value.type() != BsonType::kDocument) {
    return Status(ErrorCode::kTypeMismatch, "Each element of the 'pipeline' array must be an object");
  }
  bson::DocView stage = stage_el.value.AsDocument();
  if (stage.CountElements() != 1) {
    return Bad("A pipeline stage specification object must contain exactly one field.");
  }
  const bson::Element e = *stage.begin();
  ExprParseContext pctx;
  pctx.variables = variables;
  auto st = std::make_shared<PipelineStage>();
  std::string name(e.name);
  if (name == "$set" || name == "$addFields") {
    if (e.value.type() != BsonType::kDocument) {
      return Bad(name + " specification stage must be an object, got " + TypeName(e.value.type()));
    }
    st->kind = PipelineStage::Kind::kAddFields;
    AMALGAM_RETURN_IF_ERROR(ParseFieldSpecs(e.value.AsDocument(), "", false, pctx, name, st.get(), 0));
    for (FieldSpec& f : st->fields) {
      if (!f.expr) return Bad("Invalid " + name);
    }
  } else if (name == "$unset") {
    st->kind = PipelineStage::Kind::kUnset;
    std::vector<Value> names;
    if (e.value.type() == BsonType::kString) {
      names.push_back(e.value);
    } else if (e.value.type() == BsonType::kArray) {
      for (const bson::Element& x : e.value.AsDocument()) names.push_back(x.value);
      if (names.empty()) {
        return Bad("$unset specification must be a string or an array with at least one field");
      }
    } else {
      return Bad("$unset specification must be a string or an array");
    }
    for (const Value& v : names) {
      if (v.type() != BsonType::kString) {
        return Bad("$unset specification must be a string or an array containing only string values");
      }
      AMALGAM_RETURN_IF_ERROR(CheckFieldPath(v.AsString(), "$unset"));
      FieldSpec f;
      f.parts = SplitPath(v.AsString());
      st->fields.push_back(std::move(f));
    }
  } else if (name == "$project") {
    if (e.value.type() != BsonType::kDocument) {
      return Bad("$project specification must be an object");
    }
    if (e.value.AsDocument().empty()) {
      return Bad("Invalid $project :: caused by :: projection specification must have at least one field");
    }
    st->kind = PipelineStage::Kind::kProject;
    AMALGAM_RETURN_IF_ERROR(ParseFieldSpecs(e.value.AsDocument(), "", true, pctx, name, st.get(), 0));
    bool any_include = false, any_exclude = false;
    std::vector<FieldSpec> kept;
    for (FieldSpec& f : st->fields) {
      bool is_id = f.parts.size() == 1 && f.parts[0] == "_id";
      if (is_id && !f.expr) {
        st->exclude_id = !f.include;
        if (f.include) kept.push_back(std::move(f));
        continue;
      }
      if (f.include) {
        if (any_exclude) return Bad("Invalid $project :: caused by :: Cannot do inclusion on field " + JoinPath(f.parts, f.parts.size()) + " in exclusion projection");
        any_include = true;
      } else {
        if (any_include) return Bad("Invalid $project :: caused by :: Cannot do exclusion on field " + JoinPath(f.parts, f.parts.size()) + " in inclusion projection");
        any_exclude = true;
      }
      kept.push_back(std::move(f));
    }
    st->fields = std::move(kept);
    st->inclusion = any_include || (!any_exclude && !st->exclude_id);
    if (!any_include && !any_exclude && st->exclude_id) st->inclusion = false;
  } else if (name == "$replaceWith" || name == "$replaceRoot") {
    st->kind = PipelineStage::Kind::kReplaceRoot;
    Value root = e.value;
    if (name == "$replaceRoot") {
      if (e.value.type() != BsonType::kDocument) {
        return Bad("$replaceRoot expects an object as its argument");
      }
      root = e.value.AsDocument().Get("newRoot");
      if (root.missing()) return Bad("no newRoot specified for the $replaceRoot stage");
    }
    AMALGAM_ASSIGN_OR_RETURN(st->root, Expression::Parse(root, pctx));
  } else {
    static constexpr std::string_view kAggStages[] = {
        "$match", "$group", "$sort", "$limit", "$skip", "$lookup", "$unwind", "$facet", "$out",
        "$merge", "$count", "$sample", "$bucket", "$bucketAuto", "$sortByCount", "$geoNear",
        "$graphLookup", "$redact", "$densify", "$fill", "$setWindowFields", "$unionWith",
        "$documents", "$collStats", "$indexStats", "$search", "$vectorSearch", "$changeStream"};
    for (std::string_view s : kAggStages) {
      if (s == name) {
        return Status(ErrorCode::kInvalidOptions, name + " is not allowed to be used within an update");
      }
    }
    return Bad("Unrecognized pipeline stage name: '" + name + "'");
  }
  return st;
}

// Aggregation-style assignment: arrays along the path are mapped over, scalars replaced.
void SetAgg(MNode* n, const std::vector<std::string>& parts, size_t i, const Value& v) {
  if (n->type() == BsonType::kArray) {
    n->Expand();
    for (MField& f : n->fields) {
      if (!f.node->IsContainer()) f.node->MakeContainer(false);
      SetAgg(f.node.get(), parts, i, v);
    }
    return;
  }
  n->Expand();
  MNode* child = nullptr;
  size_t pos = 0;
  for (; pos < n->fields.size(); ++pos) {
    if (n->fields[pos].name == parts[i]) {
      child = n->fields[pos].node.get();
      break;
    }
  }
  bool last = i + 1 == parts.size();
  if (last) {
    if (v.missing()) {
      if (child) n->fields.erase(n->fields.begin() + static_cast<ptrdiff_t>(pos));
    } else if (child) {
      child->SetValue(v);
    } else {
      n->fields.push_back({parts[i], NewLeaf(v)});
    }
    return;
  }
  if (child == nullptr) {
    if (v.missing()) return;
    n->fields.push_back({parts[i], NewContainer(false)});
    child = n->fields.back().node.get();
  } else if (!child->IsContainer()) {
    child->MakeContainer(false);
  }
  SetAgg(child, parts, i + 1, v);
}

void RemoveAgg(MNode* n, const std::vector<std::string>& parts, size_t i) {
  if (n->type() == BsonType::kArray) {
    n->Expand();
    for (MField& f : n->fields) {
      if (f.node->IsContainer()) RemoveAgg(f.node.get(), parts, i);
    }
    return;
  }
  if (n->type() != BsonType::kDocument) return;
  n->Expand();
  for (size_t pos = 0; pos < n->fields.size(); ++pos) {
    if (n->fields[pos].name != parts[i]) continue;
    if (i + 1 == parts.size()) {
      n->fields.erase(n->fields.begin() + static_cast<ptrdiff_t>(pos));
    } else if (n->fields[pos].node->IsContainer()) {
      RemoveAgg(n->fields[pos].node.get(), parts, i + 1);
    }
    return;
  }
}

// Inclusion projection of `src` (a document or array value) by `paths` at depth `i`.
void Include(const Value& src, const std::vector<const FieldSpec*>& specs, size_t i, bson::Builder& b,
             std::string_view name) {
  if (src.type() == BsonType::kArray) {
    b.StartArray(name);
    bson::ArrayBuilder ab(b);
    for (const bson::Element& e : src.AsDocument()) {
      if (e.value.type() == BsonType::kDocument || e.value.type() == BsonType::kArray) {
        Include(e.value, specs, i, b, ab.Next());
      }
    }
    b.EndArray();
    return;
  }
  b.StartDocument(name);
  for (const bson::Element& e : src.AsDocument()) {
    std::vector<const FieldSpec*> sub;
    bool whole = false;
    for (const FieldSpec* f : specs) {
      if (f->parts[i] != e.name) continue;
      if (f->parts.size() == i + 1) {
        whole = true;
      } else {
        sub.push_back(f);
      }
    }
    if (whole) {
      b.AppendValue(e.name, e.value);
    } else if (!sub.empty() && (e.value.type() == BsonType::kDocument || e.value.type() == BsonType::kArray)) {
      Include(e.value, sub, i + 1, b, e.name);
    }
  }
  b.EndDocument();
}

Result<bson::Document> RunStage(const PipelineStage& st, bson::DocView in) {
  ExprEvalContext ectx;
  ectx.root = in;
  switch (st.kind) {
    case PipelineStage::Kind::kReplaceRoot: {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue v, st.root->Evaluate(ectx));
      if (v.value().type() != BsonType::kDocument) {
        std::string shown = v.missing() ? "missing" : ElementString("", v.value()).substr(2);
        return Bad("'replacement document' must evaluate to an object, but resulting value was: " +
                   shown + ". Type of resulting value: '" + TypeName(v.value().type()) +
                   "'. Input document: " + bson::ToShellString(in));
      }
      return bson::Document(v.value().AsDocument());
    }
    case PipelineStage::Kind::kAddFields: {
      std::vector<ExprValue> values;
      for (const FieldSpec& f : st.fields) {
        AMALGAM_ASSIGN_OR_RETURN(ExprValue v, f.expr->Evaluate(ectx));
        values.push_back(std::move(v));
      }
      MNode root;
      root.leaf = Value(BsonType::kDocument, in.data(), in.size());
      root.Expand();
      for (size_t i = 0; i < st.fields.size(); ++i) SetAgg(&root, st.fields[i].parts, 0, values[i].value());
      return Serialize(root);
    }
    case PipelineStage::Kind::kUnset: {
      MNode root;
      root.leaf = Value(BsonType::kDocument, in.data(), in.size());
      root.Expand();
      for (const FieldSpec& f : st.fields) RemoveAgg(&root, f.parts, 0);
      return Serialize(root);
    }
    case PipelineStage::Kind::kProject: {
      MNode root;
      if (!st.inclusion) {
        root.leaf = Value(BsonType::kDocument, in.data(), in.size());
        root.Expand();
        for (const FieldSpec& f : st.fields) RemoveAgg(&root, f.parts, 0);
        if (st.exclude_id) RemoveAgg(&root, {"_id"}, 0);
        return Serialize(root);
      }
      std::vector<const FieldSpec*> includes;
      FieldSpec id_spec;
      id_spec.parts = {"_id"};
      id_spec.include = true;
      if (!st.exclude_id) includes.push_back(&id_spec);
      for (const FieldSpec& f : st.fields) {
        if (!f.expr) includes.push_back(&f);
      }
      bson::Builder b;
      Include(Value(BsonType::kDocument, in.data(), in.size()), includes, 0, b, "");
      bson::Document holder = std::move(b).Finish();
      Value projected = (*holder.view().begin()).value;
      std::vector<ExprValue> values;
      for (const FieldSpec& f : st.fields) {
        if (!f.expr) continue;
        AMALGAM_ASSIGN_OR_RETURN(ExprValue v, f.expr->Evaluate(ectx));
        values.push_back(std::move(v));
      }
      root.leaf = projected;
      root.Expand();
      size_t k = 0;
      for (const FieldSpec& f : st.fields) {
        if (f.expr) SetAgg(&root, f.parts, 0, values[k++].value());
      }
      return Serialize(root);
    }
  }
  return InternalError("unknown pipeline stage");
}

}  // namespace

Result<Pipeline> ParsePipeline(bson::DocView stages, bson::DocView variables) {
  Pipeline p;
  for (const bson::Element& e : stages) {
    AMALGAM_ASSIGN_OR_RETURN(auto st, ParseStage(e, variables));
    p.stages.push_back(std::move(st));
  }
  return p;
}

Result<bson::Document> RunPipeline(const Pipeline& p, bson::DocView doc) {
  bson::Document cur(doc);
  for (const auto& st : p.stages) {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document next, RunStage(*st, cur.view()));
    if (next.bytes().size() > bson::kMaxUserDocumentSize * 2ull) {
      return Status(ErrorCode::kBSONObjectTooLarge, "document too large in update pipeline");
    }
    cur = std::move(next);
  }
  return cur;
}

}  // namespace amalgam::query::update_internal
