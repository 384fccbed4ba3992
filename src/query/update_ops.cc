// Parsing the argument of each update operator, with MongoDB's messages.

#include <cmath>
#include <string>

#include "bson/compare.h"
#include "bson/json.h"
#include "query/update_internal.h"

namespace amalgam::query::update_internal {

using bson::BsonType;
using bson::Value;

namespace {

Status Bad(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status Parse9(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }

bool IsIntegral(const Value& v, int64_t* out) {
  switch (v.type()) {
    case BsonType::kInt32: *out = v.AsInt32(); return true;
    case BsonType::kInt64: *out = v.AsInt64(); return true;
    case BsonType::kDouble: {
      double d = v.AsDouble();
      if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > 9.0e18) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    case BsonType::kDecimal128: {
      double d = v.NumberAsDouble();
      if (!std::isfinite(d) || d != std::trunc(d) || std::fabs(d) > 9.0e18) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    default: return false;
  }
}

Status ParseSort(const Value& v, Op* out) {
  const char* kInvalid =
      "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort "
      "embedded fields";
  if (v.IsNumber()) {
    int64_t n;
    if (!IsIntegral(v, &n) || (n != 1 && n != -1)) {
      return Bad("The $sort element value must be either 1 or -1");
    }
    out->sort_dir = static_cast<int>(n);
    return Status::OK();
  }
  if (v.type() != BsonType::kDocument) return Bad(kInvalid);
  bson::DocView pattern = v.AsDocument();
  if (pattern.empty()) return Bad("The $sort pattern is empty when it should be a set of fields.");
  for (const bson::Element& e : pattern) {
    int64_t n;
    if (!e.value.IsNumber() || !IsIntegral(e.value, &n) || (n != 1 && n != -1)) {
      return Bad("The $sort element value must be either 1 or -1");
    }
    if (e.name.empty() || e.name.front() == '.' || e.name.back() == '.' ||
        e.name.find("..") != std::string_view::npos) {
      return Bad("The $sort field is a dotted field but has an empty part: " + std::string(e.name));
    }
  }
  out->sort_pattern = pattern;
  return Status::OK();
}

Status ParsePush(const bson::Element& field, Op* out) {
  const Value& v = field.value;
  if (v.type() != BsonType::kDocument || v.AsDocument().Get("$each").missing()) {
    out->each.push_back(v);
    return Status::OK();
  }
  for (const bson::Element& e : v.AsDocument()) {
    if (e.name == "$each") {
      if (e.value.type() != BsonType::kArray) {
        return Bad("The argument to $each in $push must be an array but it was of type: " +
                   TypeName(e.value.type()));
      }
      for (const bson::Element& x : e.value.AsDocument()) out->each.push_back(x.value);
    } else if (e.name == "$slice") {
      int64_t n;
      if (!e.value.IsNumber()) {
        return Bad("The value for $slice must be an integral value but was given type: " +
                   TypeName(e.value.type()));
      }
      if (!IsIntegral(e.value, &n)) {
        return Bad("The $slice value in $push must be an integer value but was given: " +
                   ElementString("$slice", e.value).substr(8));
      }
      out->slice = n;
    } else if (e.name == "$position") {
      int64_t n;
      if (!e.value.IsNumber() || !IsIntegral(e.value, &n)) {
        return Bad("The value for $position must be an integer value, not of type: " +
                   TypeName(e.value.type()));
      }
      out->position = n;
    } else if (e.name == "$sort") {
      AMALGAM_RETURN_IF_ERROR(ParseSort(e.value, out));
    } else {
      return Bad("Unrecognized clause in $push: " + std::string(e.name));
    }
  }
  return Status::OK();
}

Status ParseAddToSet(const bson::Element& field, Op* out) {
  const Value& v = field.value;
  if (v.type() == BsonType::kDocument) {
    bson::DocView d = v.AsDocument();
    if (!d.empty() && (*d.begin()).name == "$each") {
      const Value each = (*d.begin()).value;
      if (each.type() != BsonType::kArray) {
        return Status(ErrorCode::kTypeMismatch,
                      "The argument to $each in $addToSet must be an array but it was of type " +
                          TypeName(each.type()));
      }
      if (d.CountElements() > 1) {
        return Bad("Found unexpected fields after $each in $addToSet: " + bson::ToShellString(d));
      }
      for (const bson::Element& x : each.AsDocument()) out->each.push_back(x.value);
      return Status::OK();
    }
  }
  out->each.push_back(v);
  return Status::OK();
}

bool IsQueryOperatorDoc(bson::DocView d) {
  if (d.empty()) return false;
  std::string_view first = (*d.begin()).name;
  if (first.empty() || first[0] != '$') return false;
  static constexpr std::string_view kTopLevel[] = {"$and", "$or", "$nor", "$expr", "$where",
                                                   "$comment", "$text", "$jsonSchema",
                                                   "$alwaysTrue", "$alwaysFalse"};
  for (std::string_view t : kTopLevel) {
    if (first == t) return false;
  }
  return true;
}

Status ParsePull(const bson::Element& field, bson::DocView variables, Op* out) {
  const Value& v = field.value;
  MatchContext mctx;
  mctx.variables = variables;
  if (v.type() == BsonType::kDocument && !IsQueryOperatorDoc(v.AsDocument())) {
    out->pull_kind = PullKind::kObjectQuery;
    AMALGAM_ASSIGN_OR_RETURN(Matcher m, Matcher::Compile(v.AsDocument(), mctx));
    out->pull_matcher = std::make_shared<Matcher>(std::move(m));
  } else if (v.type() == BsonType::kDocument || v.type() == BsonType::kRegex) {
    out->pull_kind = PullKind::kWrapped;
    bson::Builder b;
    b.AppendValue("", v);
    bson::Document wrapped = std::move(b).Finish();
    AMALGAM_ASSIGN_OR_RETURN(Matcher m, Matcher::Compile(wrapped.view(), mctx));
    out->pull_matcher = std::make_shared<Matcher>(std::move(m));
  } else {
    out->pull_kind = PullKind::kEquality;
  }
  return Status::OK();
}

Status ParseBit(const bson::Element& field, Op* out) {
  const Value& v = field.value;
  if (v.type() != BsonType::kDocument) {
    return Parse9("The $bit modifier is not compatible with a " + TypeName(v.type()) +
                  ".  You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}");
  }
  bson::DocView d = v.AsDocument();
  if (d.empty()) {
    return Parse9(
        "You must pass in at least one bitwise operation. The format is: {$bit: {field: "
        "{and/or/xor: #}}");
  }
  for (const bson::Element& e : d) {
    char op;
    if (e.name == "and") {
      op = 'a';
    } else if (e.name == "or") {
      op = 'o';
    } else if (e.name == "xor") {
      op = 'x';
    } else {
      return Bad("The $bit modifier only supports 'and', 'or', and 'xor', not '" +
                 std::string(e.name) + "' which is an unknown operator: {" +
                 ElementString(e.name, e.value) + "}");
    }
    if (e.value.type() != BsonType::kInt32 && e.value.type() != BsonType::kInt64) {
      return Bad("The $bit modifier field must be an Integer(32/64 bit); a '" +
                 TypeName(e.value.type()) + "' is not supported here: {" +
                 ElementString(e.name, e.value) + "}");
    }
    bool is64 = e.value.type() == BsonType::kInt64;
    out->bits.push_back({op, is64, is64 ? e.value.AsInt64() : e.value.AsInt32()});
  }
  return Status::OK();
}

Status ParseCurrentDate(const bson::Element& field, Op* out) {
  const Value& v = field.value;
  const std::string kTypeMsg =
      "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : "
      "{$type: 'date'}}}";
  if (v.type() == BsonType::kBool) return Status::OK();
  if (v.type() != BsonType::kDocument) {
    return Bad(TypeName(v.type()) +
               " is not valid type for $currentDate. Please use a boolean ('true') or a $type "
               "expression ({$type: 'timestamp/date'}).");
  }
  bool found = false;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.name != "$type") return Bad("Unrecognized $currentDate option: " + std::string(e.name));
    if (e.value.type() != BsonType::kString) return Bad(kTypeMsg);
    if (e.value.AsString() == "date") {
      out->timestamp = false;
    } else if (e.value.AsString() == "timestamp") {
      out->timestamp = true;
    } else {
      return Bad(kTypeMsg);
    }
    found = true;
  }
  if (!found) return Bad(kTypeMsg);
  return Status::OK();
}

}  // namespace

Status ParseOpArgument(OpKind kind, const bson::Element& field, bson::DocView variables, Op* out) {
  const Value& v = field.value;
  out->arg = v;
  switch (kind) {
    case OpKind::kInc:
    case OpKind::kMul:
      if (!v.IsNumber()) {
        return Status(ErrorCode::kTypeMismatch,
                      std::string(kind == OpKind::kInc ? "Cannot increment" : "Cannot multiply") +
                          " with non-numeric argument: {" + ElementString(field.name, v) + "}");
      }
      return Status::OK();
    case OpKind::kPush: return ParsePush(field, out);
    case OpKind::kAddToSet: return ParseAddToSet(field, out);
    case OpKind::kPull: return ParsePull(field, variables, out);
    case OpKind::kPullAll:
      if (v.type() != BsonType::kArray) {
        return Bad("$pullAll requires an array argument but was given a " + TypeName(v.type()));
      }
      for (const bson::Element& x : v.AsDocument()) out->each.push_back(x.value);
      return Status::OK();
    case OpKind::kPop: {
      if (!v.IsNumber()) return Parse9("Expected a number in: " + ElementString(field.name, v));
      double d = v.NumberAsDouble();
      if (d != 1 && d != -1) {
        std::string shown = ElementString("", v).substr(2);
        return Parse9("$pop expects 1 or -1, found: " + shown);
      }
      out->pop_dir = d > 0 ? 1 : -1;
      return Status::OK();
    }
    case OpKind::kBit: return ParseBit(field, out);
    case OpKind::kCurrentDate: return ParseCurrentDate(field, out);
    case OpKind::kRename: {
      if (v.type() != BsonType::kString) {
        return Bad("The 'to' field for $rename must be a string: " + ElementString(field.name, v));
      }
      out->to_path = std::string(v.AsString());
      return Status::OK();
    }
    default: return Status::OK();
  }
}

}  // namespace amalgam::query::update_internal
