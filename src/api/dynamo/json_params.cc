#include "api/dynamo/json_params.h"

#include <rapidjson/error/en.h>

namespace amalgam::api::dynamo {

namespace {

Status WrongType(const JsonValue& v, std::string_view want) {
  return Status(ErrorCode::kFailedToParse,
                std::string(JsonTokenName(v)) + " cannot be converted to " + std::string(want));
}

// The deepest nesting of objects/arrays in `body`, stopping early past `limit`. Strings are
// skipped (brackets inside them do not count). Malformed text is left to the parser.
int JsonDepth(std::string_view body, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        max_depth = depth;
        if (max_depth > limit) return max_depth;
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace

Status ParseJsonBody(std::string_view body, JsonDocument* doc) {
  if (JsonDepth(body, kMaxJsonDepth) > kMaxJsonDepth) {
    return Validation("Nesting Levels have exceeded supported limits");
  }
  doc->Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc->HasParseError()) {
    return Status(ErrorCode::kFailedToParse,
                  std::string("Malformed JSON at offset ") + std::to_string(doc->GetErrorOffset()) +
                      ": " + rapidjson::GetParseError_En(doc->GetParseError()));
  }
  if (!doc->IsObject()) {
    return Status(ErrorCode::kFailedToParse, "Start of structure or map expected, found " +
                                                 std::string(JsonTokenName(*doc)));
  }
  return Status::OK();
}

std::string_view JsonTokenName(const JsonValue& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "VALUE_NULL";
    case rapidjson::kFalseType:
      return "VALUE_FALSE";
    case rapidjson::kTrueType:
      return "VALUE_TRUE";
    case rapidjson::kObjectType:
      return "START_OBJECT";
    case rapidjson::kArrayType:
      return "START_ARRAY";
    case rapidjson::kStringType:
      return "STRING_VALUE";
    case rapidjson::kNumberType:
      return "NUMBER_VALUE";
  }
  return "UNKNOWN";
}

const JsonValue* Params::Get(std::string_view name) const {
  auto it = obj_.FindMember(
      rapidjson::StringRef(name.data(), static_cast<rapidjson::SizeType>(name.size())));
  if (it == obj_.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

Result<std::optional<std::string_view>> Params::String(std::string_view name) const {
  const JsonValue* v = Get(name);
  if (v == nullptr) return std::optional<std::string_view>();
  if (!v->IsString()) return WrongType(*v, "String");
  return std::optional<std::string_view>(AsView(*v));
}

Result<std::optional<bool>> Params::Bool(std::string_view name) const {
  const JsonValue* v = Get(name);
  if (v == nullptr) return std::optional<bool>();
  if (!v->IsBool()) return WrongType(*v, "Boolean");
  return std::optional<bool>(v->GetBool());
}

Result<std::optional<int64_t>> Params::Int(std::string_view name) const {
  const JsonValue* v = Get(name);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->IsInt64()) return std::optional<int64_t>(v->GetInt64());
  if (v->IsUint64()) return std::optional<int64_t>(INT64_MAX);
  if (v->IsDouble()) {
    double d = v->GetDouble();
    if (d == static_cast<double>(static_cast<int64_t>(d))) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return WrongType(*v, "Long");
}

Result<const JsonValue*> Params::Object(std::string_view name) const {
  const JsonValue* v = Get(name);
  if (v == nullptr) return static_cast<const JsonValue*>(nullptr);
  if (!v->IsObject()) return WrongType(*v, "Structure");
  return v;
}

Result<const JsonValue*> Params::Array(std::string_view name) const {
  const JsonValue* v = Get(name);
  if (v == nullptr) return static_cast<const JsonValue*>(nullptr);
  if (!v->IsArray()) return WrongType(*v, "List");
  return v;
}

Status ExpectObject(const JsonValue& v) {
  return v.IsObject() ? Status::OK() : WrongType(v, "Structure");
}
Status ExpectString(const JsonValue& v) {
  return v.IsString() ? Status::OK() : WrongType(v, "String");
}
Status ExpectArray(const JsonValue& v) { return v.IsArray() ? Status::OK() : WrongType(v, "List"); }

void ValidationErrors::AddValue(std::string_view value, std::string_view path,
                                std::string_view constraint) {
  items_.push_back("Value '" + std::string(value) + "' at '" + std::string(path) +
                   "' failed to satisfy constraint: " + std::string(constraint));
}

void ValidationErrors::AddNull(std::string_view path) {
  items_.push_back("Value null at '" + std::string(path) +
                   "' failed to satisfy constraint: Member must not be null");
}

Status ValidationErrors::ToStatus() const {
  if (items_.empty()) return Status::OK();
  std::string msg = std::to_string(items_.size()) +
                    (items_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) msg += "; ";
    msg += items_[i];
  }
  return Validation(std::move(msg));
}

void CheckTableName(std::string_view name, std::string_view path, ValidationErrors* errors) {
  bool pattern_ok = !name.empty();
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) pattern_ok = false;
  }
  if (!pattern_ok) {
    errors->AddValue(name, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
  }
  if (name.size() < 3) {
    errors->AddValue(name, path, "Member must have length greater than or equal to 3");
  } else if (name.size() > 255) {
    errors->AddValue(name, path, "Member must have length less than or equal to 255");
  }
}

}  // namespace amalgam::api::dynamo
