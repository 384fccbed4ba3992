// Update::Compile (kind detection, operator parsing, path conflicts, array filters), Apply and
// SeedUpsert. Operators are in update_ops.cc/update_apply.cc, pipelines in update_pipeline.cc.

#include "query/update.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "bson/compare.h"
#include "bson/field_path.h"
#include "bson/json.h"
#include "bson/validate.h"
#include "query/update_internal.h"

namespace amalgam::query {

using bson::BsonType;
using bson::Value;
using namespace update_internal;  // NOLINT

struct Update::State {
  Kind kind = Kind::kOperators;
  bson::Document spec;
  bson::Document variables;
  std::vector<Op> ops;
  std::vector<bson::Document> filter_docs;
  std::map<std::string, std::shared_ptr<Matcher>, std::less<>> filters;
  Pipeline pipeline;
};

namespace {

Status Bad(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status Parse9(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }

struct ModifierName {
  std::string_view name;
  OpKind kind;
};
constexpr ModifierName kModifiers[] = {
    {"$set", OpKind::kSet},         {"$unset", OpKind::kUnset},
    {"$inc", OpKind::kInc},         {"$mul", OpKind::kMul},
    {"$min", OpKind::kMin},         {"$max", OpKind::kMax},
    {"$rename", OpKind::kRename},   {"$setOnInsert", OpKind::kSetOnInsert},
    {"$currentDate", OpKind::kCurrentDate}, {"$push", OpKind::kPush},
    {"$addToSet", OpKind::kAddToSet}, {"$pop", OpKind::kPop},
    {"$pull", OpKind::kPull},       {"$pullAll", OpKind::kPullAll},
    {"$bit", OpKind::kBit},
};

bool IsNumericPart(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// MongoDB's order of update paths: part by part, numeric parts by value, others bytewise.
int ComparePaths(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const std::string& x = a[i];
    const std::string& y = b[i];
    int c;
    if (IsNumericPart(x) && IsNumericPart(y)) {
      size_t zx = x.find_first_not_of('0'), zy = y.find_first_not_of('0');
      std::string_view sx = zx == std::string::npos ? "" : std::string_view(x).substr(zx);
      std::string_view sy = zy == std::string::npos ? "" : std::string_view(y).substr(zy);
      c = sx.size() != sy.size() ? (sx.size() < sy.size() ? -1 : 1) : sx.compare(sy);
      if (c == 0) c = x.compare(y);
    } else {
      c = x.compare(y);
    }
    if (c != 0) return c < 0 ? -1 : 1;
  }
  if (a.size() == b.size()) return 0;
  return a.size() < b.size() ? -1 : 1;
}

bool IsPrefix(const std::vector<std::string>& p, const std::vector<std::string>& q) {
  if (p.size() > q.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos
                                                                          : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

// Parses an update path, checking positional elements and array filter identifiers.
Status ParseUpdatePath(std::string_view path, Update::State& st, std::set<std::string>* used,
                       std::vector<std::string>* parts, bool* dynamic) {
  if (path.empty()) return Bad("An empty update path is not valid.");
  *parts = Split(path);
  if (parts->size() > bson::kMaxPathParts) return Bad("The update path '" + std::string(path) + "' is too long");
  int positional = 0;
  *dynamic = false;
  for (size_t i = 0; i < parts->size(); ++i) {
    const std::string& p = (*parts)[i];
    if (p.empty()) {
      return Bad("The update path '" + std::string(path) +
                 "' contains an empty field name, which is not allowed.");
    }
    if (p == "$") {
      ++positional;
      *dynamic = true;
      if (i == 0) {
        return Bad("Cannot have positional (i.e. '$') element in the first component in path '" +
                   std::string(path) + "'");
      }
    } else if (p.size() >= 3 && p.compare(0, 2, "$[") == 0 && p.back() == ']') {
      *dynamic = true;
      std::string ident = p.substr(2, p.size() - 3);
      if (i == 0) {
        return Bad("Cannot have array filter identifier (i.e. '$[<id>]') element in the first "
                   "position in path '" + std::string(path) + "'");
      }
      if (!ident.empty()) {
        if (st.filters.find(ident) == st.filters.end()) {
          return Bad("No array filter found for identifier '" + ident + "' in path '" +
                     std::string(path) + "'");
        }
        used->insert(ident);
      }
    }
  }
  if (positional > 1) {
    return Bad("Too many positional (i.e. '$') elements found in path '" + std::string(path) + "'");
  }
  return Status::OK();
}

// Registers `parts` in the set of update paths; error 40 when it overlaps one already there.
Status Register(const std::string& dotted, const std::vector<std::string>& parts,
                std::set<std::string>* paths) {
  std::string prefix;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (i) prefix += '.';
    prefix += parts[i];
    if (paths->count(prefix)) {
      return Status(ErrorCode::kConflictingUpdateOperators,
                    "Updating the path '" + dotted + "' would create a conflict at '" + prefix + "'");
    }
  }
  if (paths->count(dotted)) {
    return Status(ErrorCode::kConflictingUpdateOperators,
                  "Updating the path '" + dotted + "' would create a conflict at '" + dotted + "'");
  }
  auto it = paths->lower_bound(dotted + ".");
  if (it != paths->end() && it->compare(0, dotted.size() + 1, dotted + ".") == 0) {
    return Status(ErrorCode::kConflictingUpdateOperators,
                  "Updating the path '" + dotted + "' would create a conflict at '" + dotted + "'");
  }
  paths->insert(dotted);
  return Status::OK();
}

// The identifier of an array filter: its top-level field names (inside $and/$or/$nor too) must
// all start with the same "<identifier>".
Status FilterIdentifier(bson::DocView filter, std::string* ident, int depth) {
  if (depth > kMaxMatchDepth) return Bad("array filter too deeply nested");
  for (const bson::Element& e : filter) {
    std::string name;
    if (e.name == "$and" || e.name == "$or" || e.name == "$nor") {
      if (e.value.type() != BsonType::kArray) continue;
      for (const bson::Element& c : e.value.AsDocument()) {
        if (c.value.type() == BsonType::kDocument) {
          AMALGAM_RETURN_IF_ERROR(FilterIdentifier(c.value.AsDocument(), ident, depth + 1));
        }
      }
      continue;
    }
    if (!e.name.empty() && e.name[0] == '$') continue;
    name = std::string(e.name.substr(0, e.name.find('.')));
    if (!ident->empty() && *ident != name) {
      return Parse9("Error parsing array filter :: caused by :: Expected a single top-level field "
                    "name, found '" + *ident + "' and '" + name + "'");
    }
    *ident = name;
  }
  return Status::OK();
}

Status CompileFilters(const UpdateOptions& opts, Update::State& st) {
  for (bson::DocView f : opts.array_filters) {
    st.filter_docs.emplace_back(f);
    bson::DocView doc = st.filter_docs.back().view();
    std::string ident;
    AMALGAM_RETURN_IF_ERROR(FilterIdentifier(doc, &ident, 0));
    if (ident.empty()) {
      return Parse9("Cannot use an expression without a top-level field name in arrayFilters");
    }
    bool valid = ident[0] >= 'a' && ident[0] <= 'z' &&
                 std::all_of(ident.begin(), ident.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
    if (!valid) {
      return Bad("Error parsing array filter :: caused by :: The top-level field name must be an "
                 "alphanumeric string beginning with a lowercase letter, found '" + ident + "'");
    }
    if (st.filters.count(ident)) {
      return Parse9("Found multiple array filters with the same top-level field name " + ident);
    }
    MatchContext mctx;
    mctx.variables = st.variables.view();
    auto m = Matcher::Compile(doc, mctx);
    if (!m.ok()) return m.status().WithContext("Error parsing array filter");
    st.filters[ident] = std::make_shared<Matcher>(std::move(m).value());
  }
  return Status::OK();
}

Status CompileOperators(Update::State& st) {
  std::set<std::string> used;
  std::set<std::string> paths;
  for (const bson::Element& mod : st.spec.view()) {
    const ModifierName* found = nullptr;
    for (const ModifierName& m : kModifiers) {
      if (m.name == mod.name) found = &m;
    }
    if (found == nullptr) {
      return Parse9("Unknown modifier: " + std::string(mod.name) +
                    ". Expected a valid update modifier or pipeline-style update specified as an "
                    "array");
    }
    if (mod.value.type() != BsonType::kDocument) {
      return Parse9("Modifiers operate on fields but we found type " + TypeName(mod.value.type()) +
                    " instead. For example: {$mod: {<field>: ...}} not {" +
                    ElementString(mod.name, mod.value) + "}");
    }
    if (mod.value.AsDocument().empty()) {
      return Parse9("'" + std::string(mod.name) + "' is empty. You must specify a field like so: {" +
                    std::string(mod.name) + ": {<field_name>: ...}}");
    }
    for (const bson::Element& field : mod.value.AsDocument()) {
      Op op;
      op.kind = found->kind;
      op.path = std::string(field.name);
      AMALGAM_RETURN_IF_ERROR(ParseUpdatePath(field.name, st, &used, &op.parts, &op.dynamic));
      AMALGAM_RETURN_IF_ERROR(ParseOpArgument(op.kind, field, st.variables.view(), &op));
      if (op.kind == OpKind::kRename) {
        std::string shown = ElementString(field.name, field.value);
        if (op.dynamic) return Bad("The source field for $rename may not be dynamic: " + shown);
        bool to_dynamic;
        std::set<std::string> ignored;
        AMALGAM_RETURN_IF_ERROR(ParseUpdatePath(op.to_path, st, &ignored, &op.to_parts, &to_dynamic));
        if (to_dynamic) return Bad("The destination field for $rename may not be dynamic: " + shown);
        if (op.to_path == op.path) {
          return Bad("The source and target field for $rename must differ: " + shown);
        }
        if (IsPrefix(op.parts, op.to_parts) || IsPrefix(op.to_parts, op.parts)) {
          return Bad("The source and target field for $rename must not be on the same path: " + shown);
        }
        AMALGAM_RETURN_IF_ERROR(Register(op.path, op.parts, &paths));
        AMALGAM_RETURN_IF_ERROR(Register(op.to_path, op.to_parts, &paths));
      } else {
        AMALGAM_RETURN_IF_ERROR(Register(op.path, op.parts, &paths));
      }
      st.ops.push_back(std::move(op));
    }
  }
  for (const auto& [ident, m] : st.filters) {
    if (!used.count(ident)) {
      return Parse9("The array filter for identifier '" + ident + "' was not used in the update " +
                    bson::ToShellString(st.spec.view()));
    }
  }
  return Status::OK();
}

Status CompileReplacement(const Update::State& st) {
  for (const bson::Element& e : st.spec.view()) {
    if (!e.name.empty() && e.name[0] == '$') {
      return Status(ErrorCode::kDollarPrefixedFieldName,
                    "The dollar ($) prefixed field '" + std::string(e.name) + "' in '" +
                        std::string(e.name) +
                        "' is not allowed in the context of an update's replacement document. "
                        "Consider using an aggregation pipeline with $replaceWith.");
    }
  }
  return Status::OK();
}

Value Lookup(const Value& v, std::string_view part) {
  if (v.type() == BsonType::kDocument) return v.AsDocument().Get(part);
  if (v.type() == BsonType::kArray) {
    size_t idx;
    if (!bson::IsArrayIndex(part, &idx)) return Value();
    size_t i = 0;
    for (const bson::Element& e : v.AsDocument()) {
      if (i++ == idx) return e.value;
    }
  }
  return Value();
}

struct Expander {
  const Update::State& st;
  const ApplyContext& ctx;
  std::vector<std::vector<std::string>>* out;
  std::vector<std::string> prefix;

  Status Run(const std::vector<std::string>& tmpl, size_t i, const Value& cur, std::string_view name) {
    if (i == tmpl.size()) {
      out->push_back(prefix);
      return Status::OK();
    }
    const std::string& p = tmpl[i];
    if (p == "$") {
      if (ctx.match_details == nullptr || !ctx.match_details->array_index) {
        return Bad("The positional operator did not find the match needed from the query.");
      }
      std::string idx = std::to_string(*ctx.match_details->array_index);
      prefix.push_back(idx);
      Status s = Run(tmpl, i + 1, Lookup(cur, idx), idx);
      prefix.pop_back();
      return s;
    }
    if (p.size() >= 3 && p.compare(0, 2, "$[") == 0 && p.back() == ']') {
      if (cur.missing()) {
        return Bad("The path '" + JoinPath(prefix, prefix.size()) +
                   "' must exist in the document in order to apply array updates.");
      }
      if (cur.type() != BsonType::kArray) {
        return Bad("Cannot apply array updates to non-array element " + ElementString(name, cur));
      }
      std::string ident = p.substr(2, p.size() - 3);
      const Matcher* m = ident.empty() ? nullptr : st.filters.find(ident)->second.get();
      size_t idx = 0;
      for (const bson::Element& e : cur.AsDocument()) {
        bool take = true;
        if (m != nullptr) {
          bson::Builder b;
          b.AppendValue(ident, e.value);
          bson::Document d = std::move(b).Finish();
          take = m->Matches(d.view());
        }
        if (take) {
          prefix.push_back(std::to_string(idx));
          Status s = Run(tmpl, i + 1, e.value, prefix.back());
          prefix.pop_back();
          AMALGAM_RETURN_IF_ERROR(s);
        }
        ++idx;
      }
      return Status::OK();
    }
    prefix.push_back(p);
    Status s = Run(tmpl, i + 1, Lookup(cur, p), p);
    prefix.pop_back();
    return s;
  }
};

// Checks what MongoDB checks before storing an updated document and puts `_id` first.
Result<bson::Document> Finish(bson::Document next, bson::DocView original, bool operators) {
  Value old_id = original.Get("_id");
  bson::DocView nv = next.view();
  Value new_id = nv.Get("_id");
  if (!old_id.missing() && (new_id.missing() || bson::CompareValues(old_id, new_id) != 0)) {
    if (operators || new_id.missing()) {
      return Status(ErrorCode::kImmutableField,
                    "Performing an update on the path '_id' would modify the immutable field '_id'");
    }
    return Status(ErrorCode::kImmutableField,
                  "After applying the update, the (immutable) field '_id' was found to have been "
                  "altered to " + ElementString("_id", new_id));
  }
  if (!new_id.missing()) {
    BsonType t = new_id.type();
    if (t == BsonType::kArray || t == BsonType::kRegex || t == BsonType::kUndefined) {
      return Status(ErrorCode::kInvalidIdField,
                    "The '_id' value cannot be of type " + TypeName(t));
    }
    if (t == BsonType::kDocument) {
      for (const bson::Element& e : new_id.AsDocument()) {
        if (!e.name.empty() && e.name[0] == '$') {
          return Status(ErrorCode::kDollarPrefixedFieldName,
                        "_id fields may not contain '$'-prefixed fields: " + std::string(e.name) +
                            " is not valid for storage.");
        }
      }
    }
  }
  bool id_first = new_id.missing() || (*nv.begin()).name == "_id";
  for (const bson::Element& e : nv) {
    if (!e.name.empty() && e.name[0] == '$') {
      return Status(ErrorCode::kDollarPrefixedFieldName,
                    "The dollar ($) prefixed field '" + std::string(e.name) + "' in '" +
                        std::string(e.name) + "' is not valid for storage.");
    }
  }
  if (!id_first) {
    bson::Builder b;
    b.AppendValue("_id", new_id);
    for (const bson::Element& e : nv) {
      if (e.name != "_id") b.AppendValue(e.name, e.value);
    }
    next = std::move(b).Finish();
  }
  if (next.bytes().size() > bson::kMaxUserDocumentSize) {
    return Status(ErrorCode::kBSONObjectTooLarge,
                  "Resulting document after update is larger than " +
                      std::to_string(bson::kMaxUserDocumentSize));
  }
  bson::ValidateOptions vo;
  vo.max_depth = bson::kMaxStorageDepth;
  auto valid = bson::ValidateDocument(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(next.bytes().data()), next.bytes().size()), vo);
  if (!valid.ok()) return valid.status();
  return next;
}

}  // namespace

Update::Update() = default;
Update::Update(const Update&) = default;
Update& Update::operator=(const Update&) = default;
Update::Update(Update&&) noexcept = default;
Update& Update::operator=(Update&&) noexcept = default;
Update::~Update() = default;

Update::Kind Update::kind() const { return state_->kind; }

Result<Update> Update::Compile(bson::DocView update, const UpdateOptions& opts) {
  auto st = std::make_shared<State>();
  st->spec = bson::Document(update);
  st->variables = bson::Document(opts.variables);
  bool operators = !update.empty() && !(*update.begin()).name.empty() && (*update.begin()).name[0] == '$';
  AMALGAM_RETURN_IF_ERROR(CompileFilters(opts, *st));
  if (operators) {
    st->kind = Kind::kOperators;
    AMALGAM_RETURN_IF_ERROR(CompileOperators(*st));
  } else {
    st->kind = Kind::kReplacement;
    if (!opts.array_filters.empty()) {
      return Parse9("arrayFilters may not be specified for replacement-style updates");
    }
    AMALGAM_RETURN_IF_ERROR(CompileReplacement(*st));
  }
  Update u;
  u.state_ = std::move(st);
  return u;
}

Result<Update> Update::Compile(const Value& update, const UpdateOptions& opts) {
  if (update.type() == BsonType::kDocument) return Compile(update.AsDocument(), opts);
  if (update.type() == BsonType::kArray) return CompilePipeline(update.AsDocument(), opts);
  return Parse9("Update argument must be either an object or an array");
}

Result<Update> Update::CompilePipeline(bson::DocView stages, const UpdateOptions& opts) {
  auto st = std::make_shared<State>();
  st->kind = Kind::kPipeline;
  st->spec = bson::Document(stages);
  st->variables = bson::Document(opts.variables);
  if (!opts.array_filters.empty()) {
    return Parse9("arrayFilters may not be specified for pipeline-style updates");
  }
  AMALGAM_ASSIGN_OR_RETURN(st->pipeline, ParsePipeline(st->spec.view(), st->variables.view()));
  Update u;
  u.state_ = std::move(st);
  return u;
}

Result<bson::Document> Update::Apply(bson::DocView doc, const ApplyContext& ctx,
                                     UpdateResultInfo* info) const {
  const State& st = *state_;
  bson::Document next;
  if (st.kind == Kind::kReplacement) {
    bson::Builder b;
    Value id = doc.Get("_id");
    if (id.missing()) id = st.spec.view().Get("_id");
    b.AppendValue("_id", id);
    for (const bson::Element& e : st.spec.view()) {
      if (e.name != "_id") b.AppendValue(e.name, e.value);
    }
    next = std::move(b).Finish();
    Value nid = st.spec.view().Get("_id");
    if (!nid.missing() && !id.missing() && bson::CompareValues(id, nid) != 0) {
      return Status(ErrorCode::kImmutableField,
                    "After applying the update, the (immutable) field '_id' was found to have been "
                    "altered to " + ElementString("_id", nid));
    }
  } else if (st.kind == Kind::kPipeline) {
    AMALGAM_ASSIGN_OR_RETURN(next, RunPipeline(st.pipeline, doc));
    Value old_id = doc.Get("_id");
    if (!old_id.missing() && next.view().Get("_id").missing()) {
      bson::Builder b;
      b.AppendValue("_id", old_id);
      b.AppendElements(next.view());
      next = std::move(b).Finish();
    }
  } else {
    std::vector<std::pair<std::vector<std::string>, const Op*>> targets;
    Value root_value(BsonType::kDocument, doc.data(), doc.size());
    for (const Op& op : st.ops) {
      if (op.kind == OpKind::kSetOnInsert && !ctx.is_insert) continue;
      if (!op.dynamic) {
        targets.emplace_back(op.kind == OpKind::kRename ? op.to_parts : op.parts, &op);
        continue;
      }
      std::vector<std::vector<std::string>> paths;
      Expander ex{st, ctx, &paths, {}};
      AMALGAM_RETURN_IF_ERROR(ex.Run(op.parts, 0, root_value, ""));
      for (auto& p : paths) targets.emplace_back(std::move(p), &op);
    }
    std::stable_sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
      return ComparePaths(a.first, b.first) < 0;
    });
    for (size_t i = 1; i < targets.size(); ++i) {
      if (IsPrefix(targets[i - 1].first, targets[i].first)) {
        return Status(ErrorCode::kConflictingUpdateOperators,
                      "Update created a conflict at '" +
                          JoinPath(targets[i - 1].first, targets[i - 1].first.size()) + "'");
      }
    }
    MNode root;
    root.leaf = root_value;
    root.Expand();
    Arena arena;
    ApplyEnv env{doc, &ctx, &arena};
    for (const auto& [path, op] : targets) {
      AMALGAM_RETURN_IF_ERROR(ApplyOp(*op, op->kind == OpKind::kRename ? op->parts : path, &root, env));
    }
    next = Serialize(root);
  }
  AMALGAM_ASSIGN_OR_RETURN(next, Finish(std::move(next), doc, st.kind == Kind::kOperators));
  if (info != nullptr) {
    info->modified = next.bytes() != doc.bytes_view();
    info->description = DescribeChange(doc, next.view());
  }
  return next;
}

namespace {

void CollectEqualities(bson::DocView filter, std::vector<std::pair<std::string, Value>>* out,
                       int depth) {
  if (depth > kMaxMatchDepth) return;
  for (const bson::Element& e : filter) {
    if (e.name == "$and" || (e.name == "$or" && e.value.type() == BsonType::kArray &&
                             e.value.AsDocument().CountElements() == 1)) {
      if (e.value.type() != BsonType::kArray) continue;
      for (const bson::Element& c : e.value.AsDocument()) {
        if (c.value.type() == BsonType::kDocument) CollectEqualities(c.value.AsDocument(), out, depth + 1);
      }
      continue;
    }
    if (!e.name.empty() && e.name[0] == '$') continue;
    const Value& v = e.value;
    if (v.type() == BsonType::kRegex) continue;
    if (v.type() == BsonType::kDocument && !v.AsDocument().empty() &&
        !(*v.AsDocument().begin()).name.empty() && (*v.AsDocument().begin()).name[0] == '$') {
      for (const bson::Element& op : v.AsDocument()) {
        if (op.name == "$eq") {
          out->emplace_back(std::string(e.name), op.value);
        } else if (op.name == "$in" && op.value.type() == BsonType::kArray &&
                   op.value.AsDocument().CountElements() == 1) {
          Value only = (*op.value.AsDocument().begin()).value;
          if (only.type() != BsonType::kRegex) out->emplace_back(std::string(e.name), only);
        }
      }
      continue;
    }
    out->emplace_back(std::string(e.name), v);
  }
}

}  // namespace

Result<bson::Document> Update::SeedUpsert(bson::DocView query_filter) {
  std::vector<std::pair<std::string, Value>> eq;
  CollectEqualities(query_filter, &eq, 0);
  std::vector<std::pair<std::vector<std::string>, size_t>> sorted;
  for (size_t i = 0; i < eq.size(); ++i) {
    std::vector<std::string> parts = Split(eq[i].first);
    bool bad = std::any_of(parts.begin(), parts.end(), [](const std::string& p) {
      return p.empty() || p[0] == '$';
    });
    if (!bad) sorted.emplace_back(std::move(parts), i);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return ComparePaths(a.first, b.first) < 0; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    const auto& a = sorted[i - 1].first;
    const auto& b = sorted[i].first;
    if (a == b) {
      return Bad("cannot infer query fields to set, path '" + JoinPath(a, a.size()) +
                 "' is matched twice");
    }
    if (IsPrefix(a, b)) {
      return Bad("cannot infer query fields to set, both paths '" + JoinPath(b, b.size()) +
                 "' and '" + JoinPath(a, a.size()) + "' are matched");
    }
  }
  MNode root;
  root.MakeContainer(false);
  Arena arena;
  ApplyContext ctx;
  ApplyEnv env{bson::DocView(), &ctx, &arena};
  for (const auto& [parts, i] : sorted) {
    Op op;
    op.kind = OpKind::kSet;
    op.arg = eq[i].second;
    AMALGAM_RETURN_IF_ERROR(ApplyOp(op, parts, &root, env));
  }
  bson::Document seed = Serialize(root);
  Value id = seed.view().Get("_id");
  if (!id.missing() && (*seed.view().begin()).name != "_id") {
    bson::Builder b;
    b.AppendValue("_id", id);
    for (const bson::Element& e : seed.view()) {
      if (e.name != "_id") b.AppendValue(e.name, e.value);
    }
    seed = std::move(b).Finish();
  }
  return seed;
}

}  // namespace amalgam::query
