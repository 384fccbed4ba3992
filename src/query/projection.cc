#include "query/projection.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bson/builder.h"
#include "bson/json.h"
#include "bson/number.h"
#include "common/error_codes.h"
#include "query/expression.h"

namespace amalgam::query {

using bson::BsonType;

Status MongoCodedError(int32_t mongo_code, std::string message) {
  // Location codes get their own registry rows over time; until a row exists the status is a
  // BadValue carrying MongoDB's message.
  for (const ErrorCodeInfo& row : AllErrorCodes()) {
    if (row.mongo_code == mongo_code) return Status(row.code, std::move(message));
  }
  return Status(ErrorCode::kBadValue, std::move(message));
}

Status ValidateFieldPathForProjection(std::string_view path) {
  if (path.empty())
    return MongoCodedError(40352, "FieldPath cannot be constructed with empty string");
  if (path.back() == '.') return MongoCodedError(40353, "FieldPath must not end with a '.'.");
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view part = path.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty())
      return MongoCodedError(15998, "FieldPath field names may not be empty strings.");
    if (part[0] == '$' && part != "$id" && part != "$ref" && part != "$db") {
      return MongoCodedError(
          16410,
          "FieldPath field names may not start with '$'. Consider using $getField or $setField.");
    }
    if (dot == std::string_view::npos) return Status::OK();
    start = dot + 1;
  }
}

namespace {

enum class Leaf : uint8_t {
  kNone,
  kInclude,
  kExclude,
  kExpression,
  kMeta,
  kElemMatch,
  kSlice,
  kPositional
};

bool IsComputed(Leaf l) {
  return l == Leaf::kExpression || l == Leaf::kMeta || l == Leaf::kElemMatch;
}

struct Node {
  Leaf leaf = Leaf::kNone;  // kNone: an inner path node
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> children;
  bool has_computed = false;  // the subtree holds a computed leaf
  std::unique_ptr<Expression> expr;
  std::string meta_name;
  std::optional<Matcher> elem_match;  // {field: {$elemMatch: ...}}
  std::optional<int32_t> slice_skip;
  int32_t slice_limit = 0;

  Node* Find(std::string_view name) const {
    for (const auto& [n, c] : children) {
      if (n == name) return c.get();
    }
    return nullptr;
  }
};

struct RootOp {
  const Node* node;  // kSlice or kPositional
  std::vector<std::string> path;
};

std::vector<std::string> SplitDots(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

std::string JoinFrom(const std::vector<std::string>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (i > from) out += '.';
    out += parts[i];
  }
  return out;
}

// One element as MongoDB prints a BSONElement: `name: value`.
std::string ElementString(std::string_view name, const bson::Value& v) {
  bson::Builder b;
  b.AppendValue(name, v);
  bson::Document d = std::move(b).Finish();
  std::string s = bson::ToShellString(d.view());
  if (s.size() >= 4 && s.starts_with("{ ") && s.ends_with(" }")) return s.substr(2, s.size() - 4);
  return s;
}

std::string ObjectString(const bson::Value& v) { return bson::ToShellString(v.AsDocument()); }

bool Truthy(const bson::Value& v) {
  if (v.type() == BsonType::kBool) return v.AsBool();
  return bson::ExactFromValue(v).kind != bson::ExactNumber::Kind::kZero;
}

// BSONElement::safeNumberInt: truncates toward zero, clamps to int32, NaN -> 0.
int32_t SafeInt(const bson::Value& v) {
  if (v.type() == BsonType::kInt32) return v.AsInt32();
  if (v.type() == BsonType::kInt64) {
    int64_t x = v.AsInt64();
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : static_cast<int32_t>(x);
  }
  double d = v.NumberAsDouble();
  if (d != d) return 0;
  if (d >= 2147483647.0) return INT32_MAX;
  if (d <= -2147483648.0) return INT32_MIN;
  return static_cast<int32_t>(d);
}

constexpr std::string_view kMetaNames[] = {"textScore",          "randVal",          "searchScore",
                                           "searchHighlights",   "geoNearDistance",  "geoNearPoint",
                                           "recordId",           "indexKey",         "sortKey",
                                           "searchScoreDetails", "vectorSearchScore"};

}  // namespace

struct Projection::State {
  bson::Document spec;
  bson::Document variables;
  Node root;
  ProjectionKind kind = ProjectionKind::kExclusion;
  bool identity = false;
  bool has_positional = false;
  bool has_meta = false;
  std::vector<RootOp> root_ops;  // $slice and positional, in projection order
};

namespace {

struct ParseCtx {
  std::optional<ProjectionKind> type;
  bool id_specified = false;
  bool has_positional = false;
  bool has_elem_match = false;
  bool has_find_slice = false;
  bool has_meta = false;
  bool id_included = false;
  bool id_excluded = false;
  ExprParseContext expr_ctx;
  MatchContext match_ctx;
};

// Adds `leaf` at the dotted `path` below `root` (MongoDB's addNodeAtPath: collisions are errors).
Status AddNodeAtPath(Node* root, std::string_view path, std::unique_ptr<Node> leaf) {
  std::vector<std::string> parts = SplitDots(path);
  Node* node = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    Node* child = node->Find(parts[i]);
    if (i + 1 == parts.size()) {
      if (child) return MongoCodedError(31250, "Path collision at " + std::string(path));
      node->children.emplace_back(parts[i], std::move(leaf));
      return Status::OK();
    }
    if (!child) {
      node->children.emplace_back(parts[i], std::make_unique<Node>());
      child = node->children.back().second.get();
    } else if (child->leaf != Leaf::kNone) {
      return MongoCodedError(31249, "Path collision at " + std::string(path) +
                                        " remaining portion " + JoinFrom(parts, 1));
    }
    node = child;
  }
  return Status::OK();
}

std::unique_ptr<Node> MakeLeaf(Leaf kind) {
  auto n = std::make_unique<Node>();
  n->leaf = kind;
  return n;
}

Status ParseElement(ParseCtx* ctx, std::string_view name, const bson::Value& v, Node* parent,
                    bool at_root, int depth);

Status ParseFindSlice(const bson::Value& arg, Node* leaf) {
  if (arg.IsNumber()) {
    leaf->slice_limit = SafeInt(arg);
    return Status::OK();
  }
  if (arg.type() != BsonType::kArray) {
    return MongoCodedError(31273, "$slice only supports numbers and [skip, limit] arrays");
  }
  bson::DocView arr = arg.AsDocument();
  if (arr.CountElements() != 2) {
    return MongoCodedError(31272, "$slice array argument should be of form [skip, limit]");
  }
  auto it = arr.begin();
  bson::Value skip = it->value;
  ++it;
  bson::Value limit = it->value;
  if (!skip.IsNumber()) {
    return MongoCodedError(31257, "$slice expects the skip argument to be a number, got " +
                                      std::string(bson::TypeAlias(skip.type())));
  }
  if (!limit.IsNumber()) {
    return MongoCodedError(31258, "$slice expects the limit argument to be a number, got " +
                                      std::string(bson::TypeAlias(limit.type())));
  }
  int32_t n = SafeInt(limit);
  if (n <= 0)
    return MongoCodedError(31259, "$slice limit must be positive, got " + std::to_string(n));
  leaf->slice_skip = SafeInt(skip);
  leaf->slice_limit = n;
  return Status::OK();
}

// Adds a generic aggregation expression leaf (the value is a one-field {$op: ...} object).
Status AddExpression(ParseCtx* ctx, std::string_view name, const bson::Value& v, Node* parent,
                     std::unique_ptr<Expression> expr) {
  if (ctx->type == ProjectionKind::kExclusion) {
    return MongoCodedError(31252, "Cannot use expression other than $meta in exclusion projection");
  }
  ctx->type = ProjectionKind::kInclusion;
  auto leaf = MakeLeaf(Leaf::kExpression);
  leaf->expr = std::move(expr);
  (void)v;
  return AddNodeAtPath(parent, name, std::move(leaf));
}

// Returns true in *handled if `obj` (one field, named $...) was an expression or find operator.
Status ParseSubObjectAsExpression(ParseCtx* ctx, std::string_view name, const bson::Value& v,
                                  Node* parent, bool at_root, bool* handled) {
  *handled = true;
  bson::Element first = *v.AsDocument().begin();
  if (first.name == "$slice") {
    auto leaf = MakeLeaf(Leaf::kSlice);
    Status find_status = ParseFindSlice(first.value, leaf.get());
    if (find_status.ok()) {
      AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, name, std::move(leaf)));
      ctx->has_find_slice = true;
      return Status::OK();
    }
    // Not find's $slice: maybe the aggregation $slice expression.
    Result<std::unique_ptr<Expression>> expr = Expression::Parse(v, ctx->expr_ctx);
    if (!expr.ok()) {
      // MongoDB prints the find() status as "Location31273: <message>".
      int32_t location = 0;
      std::string_view msg = find_status.message();
      if (msg.starts_with("$slice only supports"))
        location = 31273;
      else if (msg.starts_with("$slice array argument"))
        location = 31272;
      else if (msg.starts_with("$slice expects the skip"))
        location = 31257;
      else if (msg.starts_with("$slice expects the limit"))
        location = 31258;
      else
        location = 31259;
      return Status(
          expr.status().code(),
          "Invalid $slice syntax. The given syntax " + ObjectString(v) +
              " did not match the find() syntax because :: Location" + std::to_string(location) +
              ": " + std::string(msg) +
              " :: The given syntax did not match the expression $slice syntax. :: caused by :: " +
              std::string(expr.status().message()));
    }
    return AddExpression(ctx, name, v, parent, std::move(expr).value());
  }
  if (first.name == "$elemMatch") {
    if (first.value.type() != BsonType::kDocument) {
      return MongoCodedError(31274, "elemMatch: Invalid argument, object required, but got " +
                                        std::string(bson::TypeAlias(first.value.type())));
    }
    if (ctx->has_positional)
      return MongoCodedError(31255, "Cannot specify positional operator and $elemMatch.");
    if (!at_root || name.find('.') != std::string_view::npos) {
      return MongoCodedError(31275, "Cannot use $elemMatch projection on a nested field.");
    }
    bson::Builder b;
    b.AppendValue(name, v);
    bson::Document filter = std::move(b).Finish();
    AMALGAM_ASSIGN_OR_RETURN(Matcher m, Matcher::Compile(filter.view(), ctx->match_ctx));
    auto leaf = MakeLeaf(Leaf::kElemMatch);
    leaf->elem_match.emplace(std::move(m));
    AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, name, std::move(leaf)));
    ctx->has_elem_match = true;
    return Status::OK();
  }
  if (first.name == "$meta") {
    if (first.value.type() != BsonType::kString) {
      return MongoCodedError(17307, "$meta only supports string arguments");
    }
    std::string_view meta = first.value.AsString();
    bool known = false;
    for (std::string_view n : kMetaNames) known = known || n == meta;
    if (!known)
      return MongoCodedError(17308, "Unsupported argument to $meta: " + std::string(meta));
    auto leaf = MakeLeaf(Leaf::kMeta);
    leaf->meta_name = std::string(meta);
    AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, name, std::move(leaf)));
    ctx->has_meta = true;
    return Status::OK();
  }
  Result<std::unique_ptr<Expression>> expr = Expression::Parse(v, ctx->expr_ctx);
  if (!expr.ok() && expr.status().message().starts_with("Unrecognized expression '")) {
    // Not an expression name: a sub-projection if the name is a valid field name.
    *handled = false;
    if (!ValidateFieldPathForProjection(first.name).ok()) {
      return MongoCodedError(31325, "Unknown expression " + std::string(first.name));
    }
    return Status::OK();
  }
  if (ctx->type == ProjectionKind::kExclusion) {
    return MongoCodedError(31252, "Cannot use expression other than $meta in exclusion projection");
  }
  if (!expr.ok()) return expr.status();
  return AddExpression(ctx, name, v, parent, std::move(expr).value());
}

Status ParseSubObject(ParseCtx* ctx, std::string_view name, const bson::Value& v, Node* parent,
                      bool at_root, int depth) {
  bson::DocView obj = v.AsDocument();
  if (obj.empty())
    return MongoCodedError(51270, "Invalid empty sub-projection: " + std::string(name));
  AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(name));
  if (obj.CountElements() == 1 && obj.begin()->name.starts_with("$")) {
    bool handled = false;
    AMALGAM_RETURN_IF_ERROR(ParseSubObjectAsExpression(ctx, name, v, parent, at_root, &handled));
    if (handled) return Status::OK();
  }
  // A nested projection: reuse the inner node at `name` if there is one.
  std::vector<std::string> parts = SplitDots(name);
  Node* node = parent;
  for (const std::string& p : parts) {
    node = node ? node->Find(p) : nullptr;
    if (node && node->leaf != Leaf::kNone) node = nullptr;
  }
  if (!node) {
    AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, name, std::make_unique<Node>()));
    node = parent;
    for (const std::string& p : parts) node = node->Find(p);
  }
  for (const bson::Element& e : obj) {
    AMALGAM_RETURN_IF_ERROR(ParseElement(ctx, e.name, e.value, node, false, depth + 1));
  }
  return Status::OK();
}

Status ParseInclusion(ParseCtx* ctx, std::string_view name, Node* parent, bool at_root,
                      bool positional) {
  const bool top_id = at_root && name == "_id";
  if (!positional) {
    AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(name));
    AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, name, MakeLeaf(Leaf::kInclude)));
    if (top_id) ctx->id_included = true;
  } else {
    if (ctx->has_positional) {
      return MongoCodedError(31276,
                             "Cannot specify more than one positional projection per query.");
    }
    if (ctx->has_elem_match)
      return MongoCodedError(31256, "Cannot specify positional operator and $elemMatch.");
    if (name == ".$") return MongoCodedError(5392900, "Projection on field .$ is invalid");
    std::string_view path = name.substr(0, name.size() - 2);
    AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(path));
    AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, path, MakeLeaf(Leaf::kPositional)));
    ctx->has_positional = true;
  }
  if (!top_id) {
    if (ctx->type == ProjectionKind::kExclusion) {
      return MongoCodedError(
          31253, "Cannot do inclusion on field " + std::string(name) + " in exclusion projection");
    }
    ctx->type = ProjectionKind::kInclusion;
  }
  return Status::OK();
}

Status ParseExclusion(ParseCtx* ctx, std::string_view name, Node* parent, bool at_root) {
  AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(name));
  AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, name, MakeLeaf(Leaf::kExclude)));
  if (at_root && name == "_id") {
    ctx->id_excluded = true;
    return Status::OK();
  }
  if (ctx->type == ProjectionKind::kInclusion) {
    return MongoCodedError(
        31254, "Cannot do exclusion on field " + std::string(name) + " in inclusion projection");
  }
  ctx->type = ProjectionKind::kExclusion;
  return Status::OK();
}

Status ParseLiteral(ParseCtx* ctx, std::string_view name, const bson::Value& v, Node* parent) {
  AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<Expression> expr, Expression::Parse(v, ctx->expr_ctx));
  AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(name));
  auto leaf = MakeLeaf(Leaf::kExpression);
  leaf->expr = std::move(expr);
  AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(parent, name, std::move(leaf)));
  if (ctx->type == ProjectionKind::kExclusion) {
    return MongoCodedError(31310, "Cannot use an expression " + ElementString(name, v) +
                                      " in an exclusion projection");
  }
  ctx->type = ProjectionKind::kInclusion;
  return Status::OK();
}

Status ParseElement(ParseCtx* ctx, std::string_view name, const bson::Value& v, Node* parent,
                    bool at_root, int depth) {
  if (depth > 100) return MongoCodedError(2, "projection nesting exceeds the depth limit of 100");
  const bool positional = name.ends_with(".$");
  if (name.find(".$.") != std::string_view::npos) {
    return MongoCodedError(
        31394,
        "As of 4.4, it's illegal to specify positional operator in the middle of a path."
        "Positional projection may only be used at the end, for example: a.b.$. If the query "
        "previously used a form like a.b.$.d, remove the parts following the '$' and the "
        "results will be equivalent.");
  }
  if (v.type() == BsonType::kDocument) {
    if (positional) {
      return MongoCodedError(
          31271, "positional projection cannot be used with an expression or sub object");
    }
    return ParseSubObject(ctx, name, v, parent, at_root, depth);
  }
  if (v.IsNumber() || v.type() == BsonType::kBool) {
    if (Truthy(v)) return ParseInclusion(ctx, name, parent, at_root, positional);
    if (positional)
      return MongoCodedError(31395, "positional projection cannot be used with exclusion");
    return ParseExclusion(ctx, name, parent, at_root);
  }
  if (positional)
    return MongoCodedError(31308, "positional projection cannot be used with a literal");
  return ParseLiteral(ctx, name, v, parent);
}

// MongoDB's rules for projections whose type the fields alone do not decide.
ProjectionKind DefaultKind(const ParseCtx& c) {
  if (c.has_find_slice)
    return c.id_included ? ProjectionKind::kInclusion : ProjectionKind::kExclusion;
  if (c.has_elem_match) return ProjectionKind::kInclusion;
  if (c.has_meta) {
    if (c.id_excluded) return ProjectionKind::kExclusion;
    return c.id_included ? ProjectionKind::kInclusion : ProjectionKind::kExclusion;
  }
  if (c.id_included) return ProjectionKind::kInclusion;
  return ProjectionKind::kExclusion;
}

bool MarkComputed(Node* n) {
  if (n->leaf != Leaf::kNone) return IsComputed(n->leaf);
  bool any = false;
  for (auto& [name, c] : n->children) any = MarkComputed(c.get()) || any;
  n->has_computed = any;
  return any;
}

void CollectRootOps(const Node* n, std::vector<std::string>* path, std::vector<RootOp>* out) {
  for (const auto& [name, c] : n->children) {
    path->push_back(name);
    if (c->leaf == Leaf::kSlice || c->leaf == Leaf::kPositional) {
      out->push_back(RootOp{c.get(), *path});
    } else if (c->leaf == Leaf::kNone) {
      CollectRootOps(c.get(), path, out);
    }
    path->pop_back();
  }
}

}  // namespace

Result<Projection> Projection::Compile(bson::DocView projection, const ProjectionOptions& options) {
  auto state = std::make_shared<State>();
  state->spec = bson::Document(projection);
  state->variables = bson::Document(options.variables);
  ParseCtx ctx;
  ctx.expr_ctx.variables = state->variables.view();
  ctx.match_ctx.variables = state->variables.view();
  for (const bson::Element& e : state->spec.view()) {
    if (e.name == "_id" || e.name.starts_with("_id.")) ctx.id_specified = true;
    AMALGAM_RETURN_IF_ERROR(ParseElement(&ctx, e.name, e.value, &state->root, true, 0));
  }
  state->kind = ctx.type ? *ctx.type : DefaultKind(ctx);
  if (!ctx.id_specified && state->kind == ProjectionKind::kInclusion) {
    AMALGAM_RETURN_IF_ERROR(AddNodeAtPath(&state->root, "_id", MakeLeaf(Leaf::kInclude)));
  }
  if (state->kind == ProjectionKind::kExclusion && ctx.id_included) {
    auto& kids = state->root.children;
    for (auto it = kids.begin(); it != kids.end(); ++it) {
      if (it->first == "_id") {
        kids.erase(it);
        break;
      }
    }
  }
  MarkComputed(&state->root);
  std::vector<std::string> path;
  CollectRootOps(&state->root, &path, &state->root_ops);
  state->identity = projection.empty();
  state->has_positional = ctx.has_positional;
  state->has_meta = ctx.has_meta;
  Projection p;
  p.state_ = std::move(state);
  return p;
}

// ---- Applying ----------------------------------------------------------------------------------

namespace {

// The document under construction: values borrowed from the input (or from computed values kept
// alive by ApplyState), expanded into owned documents and arrays where they change. Missing entries
// keep their place (a later phase may set them) and are dropped when serialized.
struct MKid;

struct MNode {
  enum class K : uint8_t { kMissing, kValue, kDoc, kArray };
  K k = K::kMissing;
  bson::Value v;
  // Named children. (Not std::pair<std::string_view, MNode>: a pair of an incomplete type is
  // rejected by clang's standard-library checks; a vector of one is allowed.)
  std::vector<MKid> kids;

  static MNode Of(const bson::Value& value);
  static MNode Doc();
  static MNode Array();
  // A borrowed document or array becomes an owned one whose elements are borrowed.
  void Expand();
  MNode* Get(std::string_view name);
  void Set(std::string_view name, MNode value);
};

struct MKid {
  MKid(std::string_view name, MNode node) : first(name), second(std::move(node)) {}
  std::string_view first;
  MNode second;
};

MNode MNode::Of(const bson::Value& value) {
  MNode n;
  if (!value.missing()) {
    n.k = K::kValue;
    n.v = value;
  }
  return n;
}

MNode MNode::Doc() {
  MNode n;
  n.k = K::kDoc;
  return n;
}

MNode MNode::Array() {
  MNode n;
  n.k = K::kArray;
  return n;
}

void MNode::Expand() {
  if (k != K::kValue || (v.type() != BsonType::kDocument && v.type() != BsonType::kArray)) return;
  k = v.type() == BsonType::kDocument ? K::kDoc : K::kArray;
  for (const bson::Element& e : v.AsDocument()) kids.emplace_back(e.name, Of(e.value));
}

MNode* MNode::Get(std::string_view name) {
  for (auto& [n, c] : kids) {
    if (n == name) return &c;
  }
  return nullptr;
}

void MNode::Set(std::string_view name, MNode value) {
  if (MNode* existing = Get(name)) {
    *existing = std::move(value);
  } else {
    kids.emplace_back(name, std::move(value));
  }
}

struct ApplyState {
  bson::DocView root;
  const ProjectionApplyContext* ctx;
  std::vector<ExprValue> keep_alive;
};

MNode ProjectInclusion(bson::DocView doc, const Node& node);

MNode ProjectInclusionValue(const bson::Value& v, const Node& node) {
  if (v.type() == BsonType::kDocument) return ProjectInclusion(v.AsDocument(), node);
  if (v.type() == BsonType::kArray) {
    MNode out = MNode::Array();
    for (const bson::Element& e : v.AsDocument())
      out.kids.emplace_back(e.name, ProjectInclusionValue(e.value, node));
    return out;
  }
  return MNode();  // a scalar has no fields to include
}

MNode ProjectInclusion(bson::DocView doc, const Node& node) {
  MNode out = MNode::Doc();
  for (const bson::Element& e : doc) {
    const Node* child = node.Find(e.name);
    if (!child) continue;
    switch (child->leaf) {
      case Leaf::kInclude:
      case Leaf::kSlice:
      case Leaf::kPositional:
        out.kids.emplace_back(e.name, MNode::Of(e.value));
        break;
      case Leaf::kNone:
        out.kids.emplace_back(e.name, ProjectInclusionValue(e.value, *child));
        break;
      default:
        break;  // excluded _id, or computed later
    }
  }
  return out;
}

MNode ProjectExclusion(bson::DocView doc, const Node& node);

MNode ProjectExclusionValue(const bson::Value& v, const Node& node) {
  if (v.type() == BsonType::kDocument) return ProjectExclusion(v.AsDocument(), node);
  if (v.type() == BsonType::kArray) {
    MNode out = MNode::Array();
    for (const bson::Element& e : v.AsDocument())
      out.kids.emplace_back(e.name, ProjectExclusionValue(e.value, node));
    return out;
  }
  return MNode::Of(v);
}

MNode ProjectExclusion(bson::DocView doc, const Node& node) {
  MNode out = MNode::Doc();
  for (const bson::Element& e : doc) {
    const Node* child = node.Find(e.name);
    if (child && child->leaf == Leaf::kExclude) continue;
    if (child && child->leaf == Leaf::kNone) {
      out.kids.emplace_back(e.name, ProjectExclusionValue(e.value, *child));
    } else {
      out.kids.emplace_back(e.name, MNode::Of(e.value));
    }
  }
  return out;
}

Result<MNode> EvaluateLeaf(ApplyState* st, std::string_view name, const Node& leaf) {
  switch (leaf.leaf) {
    case Leaf::kExpression: {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue v, leaf.expr->Evaluate(ExprEvalContext{st->root}));
      st->keep_alive.push_back(v);
      return MNode::Of(v.value());
    }
    case Leaf::kMeta:
      return MNode::Of(st->ctx->meta.Get(leaf.meta_name));
    case Leaf::kElemMatch: {
      bson::Value arr = st->root.Get(name);
      if (arr.type() != BsonType::kArray) return MNode();
      for (const bson::Element& e : arr.AsDocument()) {
        bson::Builder b;
        b.StartArray(name).AppendValue("0", e.value).EndArray();
        bson::Document probe = std::move(b).Finish();
        if (leaf.elem_match->Matches(probe.view())) {
          MNode out = MNode::Array();
          out.kids.emplace_back("0", MNode::Of(e.value));
          return out;
        }
      }
      return MNode();
    }
    default:
      return MNode();
  }
}

Status ApplyExpressions(ApplyState* st, const Node& node, MNode* out);

Result<MNode> ApplyExpressionsToValue(ApplyState* st, const Node& node, MNode value) {
  value.Expand();
  if (value.k == MNode::K::kDoc) {
    AMALGAM_RETURN_IF_ERROR(ApplyExpressions(st, node, &value));
    return value;
  }
  if (value.k == MNode::K::kArray) {
    for (auto& [n, kid] : value.kids) {
      AMALGAM_ASSIGN_OR_RETURN(kid, ApplyExpressionsToValue(st, node, std::move(kid)));
    }
    return value;
  }
  // A scalar or missing value on the path of computed fields becomes a document of them.
  MNode doc = MNode::Doc();
  AMALGAM_RETURN_IF_ERROR(ApplyExpressions(st, node, &doc));
  return doc;
}

Status ApplyExpressions(ApplyState* st, const Node& node, MNode* out) {
  for (const auto& [name, child] : node.children) {
    if (IsComputed(child->leaf)) {
      AMALGAM_ASSIGN_OR_RETURN(MNode v, EvaluateLeaf(st, name, *child));
      out->Set(name, std::move(v));
    } else if (child->leaf == Leaf::kNone && child->has_computed) {
      MNode* cur = out->Get(name);
      AMALGAM_ASSIGN_OR_RETURN(
          MNode v, ApplyExpressionsToValue(st, *child, cur ? std::move(*cur) : MNode()));
      out->Set(name, std::move(v));
    }
  }
  return Status::OK();
}

void SliceArray(MNode* arr, std::optional<int32_t> skip, int32_t limit) {
  const int64_t len = static_cast<int64_t>(arr->kids.size());
  int64_t start = 0;
  int64_t count = 0;
  if (!skip) {
    if (limit < 0) {
      start = std::max<int64_t>(0, len + limit);
      count = len - start;
    } else {
      count = std::min<int64_t>(len, limit);
    }
  } else {
    start = *skip < 0 ? std::max<int64_t>(0, len + *skip) : std::min<int64_t>(len, *skip);
    count = std::min<int64_t>(len - start, limit);
  }
  std::vector<MKid> kept(
      std::make_move_iterator(arr->kids.begin() + start),
      std::make_move_iterator(arr->kids.begin() + start + count));
  arr->kids = std::move(kept);
}

void ApplySlice(MNode* doc, const RootOp& op, size_t i) {
  MNode* f = doc->Get(op.path[i]);
  if (!f) return;
  f->Expand();
  const bool last = i + 1 == op.path.size();
  if (f->k == MNode::K::kArray) {
    if (last) {
      SliceArray(f, op.node->slice_skip, op.node->slice_limit);
      return;
    }
    for (auto& [n, kid] : f->kids) {
      kid.Expand();
      if (kid.k == MNode::K::kDoc) ApplySlice(&kid, op, i + 1);
    }
  } else if (f->k == MNode::K::kDoc && !last) {
    ApplySlice(f, op, i + 1);
  }
}

Status ApplyPositional(MNode* doc, const RootOp& op, const MatchDetails* details) {
  MNode* sub = doc;
  for (const std::string& part : op.path) {
    MNode* f = sub->Get(part);
    if (!f) return Status::OK();
    f->Expand();
    if (f->k == MNode::K::kArray) {
      if (!details || !details->array_index) {
        return MongoCodedError(
            51246, "positional operator '.$' couldn't find a matching element in the array");
      }
      size_t idx = *details->array_index;
      if (idx >= f->kids.size() || f->kids[idx].second.k == MNode::K::kMissing) {
        return MongoCodedError(51247, "positional operator '.$' element mismatch");
      }
      MNode elem = std::move(f->kids[idx].second);
      f->kids.clear();
      f->kids.emplace_back("0", std::move(elem));
      return Status::OK();
    }
    if (f->k != MNode::K::kDoc) return Status::OK();
    sub = f;
  }
  return Status::OK();
}

void Serialize(const MNode& n, bson::Builder* b);

void SerializeKid(std::string_view name, const MNode& kid, bson::Builder* b) {
  switch (kid.k) {
    case MNode::K::kMissing:
      return;
    case MNode::K::kValue:
      b->AppendValue(name, kid.v);
      return;
    case MNode::K::kDoc:
      b->StartDocument(name);
      Serialize(kid, b);
      b->EndDocument();
      return;
    case MNode::K::kArray:
      b->StartArray(name);
      Serialize(kid, b);
      b->EndArray();
      return;
  }
}

void Serialize(const MNode& n, bson::Builder* b) {
  if (n.k == MNode::K::kArray) {
    bson::ArrayBuilder names(*b);
    for (const auto& [name, kid] : n.kids) {
      if (kid.k != MNode::K::kMissing) SerializeKid(names.Next(), kid, b);
    }
    return;
  }
  for (const auto& [name, kid] : n.kids) SerializeKid(name, kid, b);
}

}  // namespace

Result<bson::Document> Projection::Apply(bson::DocView doc, const MatchDetails* details) const {
  ProjectionApplyContext ctx;
  ctx.details = details;
  return Apply(doc, ctx);
}

Result<bson::Document> Projection::Apply(bson::DocView doc,
                                         const ProjectionApplyContext& ctx) const {
  const State& s = *state_;
  if (s.identity) return bson::Document(doc);
  ApplyState st{doc, &ctx, {}};
  MNode out = s.kind == ProjectionKind::kInclusion ? ProjectInclusion(doc, s.root)
                                                   : ProjectExclusion(doc, s.root);
  if (s.root.has_computed) AMALGAM_RETURN_IF_ERROR(ApplyExpressions(&st, s.root, &out));
  for (const RootOp& op : s.root_ops) {
    if (op.node->leaf == Leaf::kSlice) {
      ApplySlice(&out, op, 0);
    } else {
      AMALGAM_RETURN_IF_ERROR(ApplyPositional(&out, op, ctx.details));
    }
  }
  bson::Builder b;
  Serialize(out, &b);
  return std::move(b).Finish();
}

ProjectionKind Projection::kind() const { return state_->kind; }
bool Projection::is_identity() const { return state_->identity; }
bool Projection::has_positional() const { return state_->has_positional; }
bool Projection::has_meta() const { return state_->has_meta; }

Projection::Projection() = default;
Projection::Projection(const Projection&) = default;
Projection& Projection::operator=(const Projection&) = default;
Projection::Projection(Projection&&) noexcept = default;
Projection& Projection::operator=(Projection&&) noexcept = default;
Projection::~Projection() = default;

}  // namespace amalgam::query
