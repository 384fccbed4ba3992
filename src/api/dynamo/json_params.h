#pragma once
// Typed access to the members of a DynamoDB request object (rapidjson DOM), with DynamoDB's
// errors: a member of the wrong JSON type is a SerializationException (kFailedToParse), as the
// AWS front end reports it ("NUMBER_VALUE cannot be converted to String"); a JSON null counts as
// absent. Also the collector of DynamoDB's "N validation errors detected: ..." messages.
//
// rapidjson is included here: only api/dynamo .cc files include this header.
// Views returned borrow the request document, which must outlive them. Not thread-safe.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace amalgam::api::dynamo {

using JsonValue = rapidjson::Value;
using JsonDocument = rapidjson::Document;
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Deepest JSON nesting accepted in a request (DynamoDB's 32 levels of M/L fit well inside).
inline constexpr int kMaxJsonDepth = 96;

// Parses a request body into *doc (iteratively: no recursion on input). Errors: kFailedToParse
// for malformed JSON or a non-object root; kBadValue "Nesting Levels have exceeded supported
// limits" past kMaxJsonDepth.
Status ParseJsonBody(std::string_view body, JsonDocument* doc);

// "STRING_VALUE", "NUMBER_VALUE", "START_OBJECT", ... : how Coral names a JSON token.
std::string_view JsonTokenName(const JsonValue& v);

inline std::string_view AsView(const JsonValue& v) { return {v.GetString(), v.GetStringLength()}; }
inline void WriteString(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
inline void WriteKey(JsonWriter& w, std::string_view s) {
  w.Key(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

class Params {
 public:
  // REQUIRES: obj is an object.
  explicit Params(const JsonValue& obj) : obj_(obj) {}
  const JsonValue& raw() const { return obj_; }

  // The member, or nullptr when absent or null.
  const JsonValue* Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }

  // Errors (all): kFailedToParse when present with another JSON type.
  Result<std::optional<std::string_view>> String(std::string_view name) const;
  Result<std::optional<bool>> Bool(std::string_view name) const;
  // Integers (JSON numbers without fraction); kFailedToParse for other numbers too.
  Result<std::optional<int64_t>> Int(std::string_view name) const;
  // nullptr when absent.
  Result<const JsonValue*> Object(std::string_view name) const;
  Result<const JsonValue*> Array(std::string_view name) const;

 private:
  const JsonValue& obj_;
};

// Checks that `v` is an object / string / array, for nested structures.
Status ExpectObject(const JsonValue& v);
Status ExpectString(const JsonValue& v);
Status ExpectArray(const JsonValue& v);

// Collects constraint violations as DynamoDB reports them:
//   "1 validation error detected: Value 'x' at 'tableName' failed to satisfy constraint: ..."
//   "2 validation errors detected: ...; ..."
class ValidationErrors {
 public:
  // Adds "Value '<value>' at '<path>' failed to satisfy constraint: <constraint>".
  void AddValue(std::string_view value, std::string_view path, std::string_view constraint);
  // Adds "Value null at '<path>' failed to satisfy constraint: Member must not be null".
  void AddNull(std::string_view path);
  bool empty() const { return items_.empty(); }
  // OK when empty, else kBadValue with the message above.
  Status ToStatus() const;

 private:
  std::vector<std::string> items_;
};

// Checks a table or index name: 3..255 characters of [a-zA-Z0-9_.-] (index names too).
// `path` is the parameter path in messages ("tableName").
void CheckTableName(std::string_view name, std::string_view path, ValidationErrors* errors);

// kBadValue with `message` (a ValidationException).
inline Status Validation(std::string message) { return Status(ErrorCode::kBadValue, std::move(message)); }

}  // namespace amalgam::api::dynamo
