#include "index/partial_filter.h"

#include "bson/compare.h"
#include "bson/json.h"
#include "index/path_values.h"

namespace amalgam::index {

struct PartialFilter::Node {
  enum class Kind { kAnd, kOr, kEq, kGt, kGte, kLt, kLte, kExists, kType, kIn };
  Kind kind = Kind::kAnd;
  std::vector<Node> children;             // kAnd, kOr
  std::optional<bson::FieldPath> path;    // leaves
  bson::Value operand;                    // kEq..kLte, kIn (the array), kExists (truthiness)
  bool exists = true;
  std::vector<bson::BsonType> types;      // kType; "number" expands to the four numeric types
};

namespace {

using Node = PartialFilter::Node;

Status Unsupported(std::string what) {
  return Status(ErrorCode::kCannotCreateIndex, "unsupported expression in partial index: " + what);
}

bool CompareOk(Node::Kind kind, int c) {
  switch (kind) {
    case Node::Kind::kEq: return c == 0;
    case Node::Kind::kGt: return c > 0;
    case Node::Kind::kGte: return c >= 0;
    case Node::Kind::kLt: return c < 0;
    case Node::Kind::kLte: return c <= 0;
    default: return false;
  }
}

// MongoDB compares only within a type bracket for $gt/$lt (except equality on null/missing).
bool LeafMatchesValue(const Node& n, const bson::Value& v) {
  switch (n.kind) {
    case Node::Kind::kEq:
    case Node::Kind::kGt:
    case Node::Kind::kGte:
    case Node::Kind::kLt:
    case Node::Kind::kLte: {
      if (bson::CanonicalRank(v.type()) != bson::CanonicalRank(n.operand.type())) return false;
      return CompareOk(n.kind, bson::CompareValues(v, n.operand));
    }
    case Node::Kind::kIn:
      for (const bson::Element& e : n.operand.AsDocument()) {
        if (bson::CanonicalRank(v.type()) == bson::CanonicalRank(e.value.type()) && bson::CompareValues(v, e.value) == 0) return true;
      }
      return false;
    case Node::Kind::kType:
      for (bson::BsonType t : n.types) {
        if (v.type() == t) return true;
      }
      return false;
    default: return false;
  }
}

bool LeafMatches(const Node& n, bson::DocView doc) {
  std::vector<bson::Value> values;
  bool any_path = CollectPathValues(doc, *n.path, &values);
  if (n.kind == Node::Kind::kExists) return any_path == n.exists;
  bool null_wanted = (n.kind == Node::Kind::kEq || n.kind == Node::Kind::kGte || n.kind == Node::Kind::kLte) &&
                     n.operand.type() == bson::BsonType::kNull;
  if (!any_path) return null_wanted;
  for (const bson::Value& v : values) {
    if (LeafMatchesValue(n, v)) return true;
    if (null_wanted && v.type() == bson::BsonType::kNull) return true;
    if (v.type() == bson::BsonType::kArray && n.kind != Node::Kind::kType) {
      for (const bson::Element& e : v.AsDocument()) {
        if (LeafMatchesValue(n, e.value)) return true;
      }
    }
  }
  return false;
}

bool Eval(const Node& n, bson::DocView doc) {
  switch (n.kind) {
    case Node::Kind::kAnd:
      for (const Node& c : n.children) {
        if (!Eval(c, doc)) return false;
      }
      return true;
    case Node::Kind::kOr:
      for (const Node& c : n.children) {
        if (Eval(c, doc)) return true;
      }
      return false;
    default: return LeafMatches(n, doc);
  }
}

Result<Node> CompileDoc(bson::DocView filter, int depth);

Result<Node> CompileOperator(const bson::FieldPath& path, std::string_view op, const bson::Value& arg) {
  Node n;
  n.path = path;
  n.operand = arg;
  if (op == "$eq") n.kind = Node::Kind::kEq;
  else if (op == "$gt") n.kind = Node::Kind::kGt;
  else if (op == "$gte") n.kind = Node::Kind::kGte;
  else if (op == "$lt") n.kind = Node::Kind::kLt;
  else if (op == "$lte") n.kind = Node::Kind::kLte;
  else if (op == "$in") {
    if (arg.type() != bson::BsonType::kArray) return Status(ErrorCode::kBadValue, "$in needs an array");
    n.kind = Node::Kind::kIn;
  } else if (op == "$exists") {
    n.kind = Node::Kind::kExists;
    n.exists = !(arg.type() == bson::BsonType::kBool ? !arg.AsBool() : (arg.IsNumber() && arg.NumberAsDouble() == 0));
  } else if (op == "$type") {
    n.kind = Node::Kind::kType;
    auto add = [&](const bson::Value& t) -> Status {
      if (t.type() == bson::BsonType::kString) {
        if (t.AsString() == "number") {
          n.types.insert(n.types.end(), {bson::BsonType::kDouble, bson::BsonType::kInt32, bson::BsonType::kInt64, bson::BsonType::kDecimal128});
          return Status::OK();
        }
        bson::BsonType bt;
        if (!bson::TypeFromAlias(t.AsString(), &bt)) return Status(ErrorCode::kBadValue, "Unknown type name alias: " + std::string(t.AsString()));
        n.types.push_back(bt);
        return Status::OK();
      }
      if (t.IsNumber()) {
        double d = t.NumberAsDouble();
        if (d == -1) n.types.push_back(bson::BsonType::kMinKey);
        else if (d == 127) n.types.push_back(bson::BsonType::kMaxKey);
        else if (d >= 1 && d <= 19 && bson::IsValidType(static_cast<uint8_t>(d))) n.types.push_back(static_cast<bson::BsonType>(static_cast<int>(d)));
        else return Status(ErrorCode::kBadValue, "Invalid numerical type code: " + std::to_string(d));
        return Status::OK();
      }
      return Status(ErrorCode::kTypeMismatch, "type must be represented as a number or a string");
    };
    if (arg.type() == bson::BsonType::kArray) {
      for (const bson::Element& e : arg.AsDocument()) AMALGAM_RETURN_IF_ERROR(add(e.value));
    } else {
      AMALGAM_RETURN_IF_ERROR(add(arg));
    }
  } else {
    return Unsupported(std::string(op));
  }
  if (n.kind != Node::Kind::kType && n.kind != Node::Kind::kExists && n.kind != Node::Kind::kIn &&
      (arg.type() == bson::BsonType::kRegex || arg.type() == bson::BsonType::kArray)) {
    return Unsupported(std::string(op) + " with a " + std::string(bson::TypeAlias(arg.type())));
  }
  return n;
}

Result<Node> CompileField(std::string_view name, const bson::Value& v) {
  AMALGAM_ASSIGN_OR_RETURN(bson::FieldPath path, bson::FieldPath::Parse(name));
  bool is_ops = v.type() == bson::BsonType::kDocument && !v.AsDocument().empty() &&
                v.AsDocument().begin()->name.starts_with("$");
  if (!is_ops) {
    if (v.type() == bson::BsonType::kRegex) return Unsupported("regular expression on '" + std::string(name) + "'");
    return CompileOperator(path, "$eq", v);
  }
  Node all;
  all.kind = Node::Kind::kAnd;
  for (const bson::Element& e : v.AsDocument()) {
    AMALGAM_ASSIGN_OR_RETURN(Node leaf, CompileOperator(path, e.name, e.value));
    all.children.push_back(std::move(leaf));
  }
  return all;
}

Result<Node> CompileDoc(bson::DocView filter, int depth) {
  if (depth > 32) return Unsupported("nesting deeper than 32");
  Node all;
  all.kind = Node::Kind::kAnd;
  for (const bson::Element& e : filter) {
    if (e.name == "$and" || e.name == "$or") {
      if (e.value.type() != bson::BsonType::kArray || e.value.AsDocument().empty()) {
        return Status(ErrorCode::kBadValue, std::string(e.name) + " must be a nonempty array");
      }
      Node group;
      group.kind = e.name == "$and" ? Node::Kind::kAnd : Node::Kind::kOr;
      for (const bson::Element& c : e.value.AsDocument()) {
        if (c.value.type() != bson::BsonType::kDocument) return Status(ErrorCode::kBadValue, std::string(e.name) + " entries must be objects");
        AMALGAM_ASSIGN_OR_RETURN(Node child, CompileDoc(c.value.AsDocument(), depth + 1));
        group.children.push_back(std::move(child));
      }
      all.children.push_back(std::move(group));
    } else if (e.name.starts_with("$")) {
      return Unsupported(std::string(e.name));
    } else {
      AMALGAM_ASSIGN_OR_RETURN(Node leaf, CompileField(e.name, e.value));
      all.children.push_back(std::move(leaf));
    }
  }
  return all;
}

}  // namespace

PartialFilter::PartialFilter() = default;
PartialFilter::PartialFilter(PartialFilter&&) noexcept = default;
PartialFilter& PartialFilter::operator=(PartialFilter&&) noexcept = default;
PartialFilter::~PartialFilter() = default;

Result<PartialFilter> PartialFilter::Compile(bson::DocView filter) {
  PartialFilter f;
  // Nodes point into these bytes; a shared heap copy never moves (a small std::string would).
  f.filter_ = std::make_shared<const bson::Document>(filter);
  AMALGAM_ASSIGN_OR_RETURN(Node root, CompileDoc(f.filter_->view(), 0));
  f.root_ = std::make_unique<Node>(std::move(root));
  return f;
}

bool PartialFilter::Matches(bson::DocView doc) const { return Eval(*root_, doc); }

}  // namespace amalgam::index
