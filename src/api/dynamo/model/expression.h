#pragma once
// DynamoDB expressions shared pieces, condition/filter expressions and projection expressions
// (docs/dynamodb-expressions.md). Key conditions: key_condition.h; updates:
// update_expression.h; the legacy parameters: legacy.h.
//
// API (pure, no I/O; parsed ASTs are immutable values, safe to share across threads):
//   ExpressionAttributes   ExpressionAttributeNames/Values of one request, with usage tracking:
//                          build it once per request (FromJson), pass it to every Parse* call of
//                          that request, then call CheckAllUsed().
//   DocumentPath           a.b[1].c as elements; FindPath() reads it in an item.
//   ParseCondition         ConditionExpression / FilterExpression text -> Condition.
//   EvaluateCondition      Condition over an item (DynamoDB semantics: missing or differently
//                          typed operands make comparisons false).
//   ParseProjection        ProjectionExpression text -> paths; ApplyProjection(item, paths).
//
// Errors are Status values with ErrorCode::kBadValue (DynamoDB ValidationException) and
// DynamoDB's messages, e.g. `Invalid ConditionExpression: Syntax error; token: "=", near: "a ==
// b"` or `Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}`.

#include <rapidjson/fwd.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/dynamo/model/attribute_value.h"
#include "common/result.h"

namespace amalgam::dynamo {

// Which expression parameter a text came from; used in messages ("Invalid <kind>: ...").
enum class ExpressionKind : uint8_t {
  kCondition,     // ConditionExpression
  kFilter,        // FilterExpression
  kKeyCondition,  // KeyConditionExpression
  kUpdate,        // UpdateExpression
  kProjection,    // ProjectionExpression
};
std::string_view ExpressionKindName(ExpressionKind kind);

// Maximum expression length in bytes and maximum document path depth.
inline constexpr size_t kMaxExpressionLength = 4096;
inline constexpr size_t kMaxPathDepth = 32;
inline constexpr size_t kMaxInOperands = 100;

// The ExpressionAttributeNames and ExpressionAttributeValues of one request. Not thread-safe
// (lookups record usage).
class ExpressionAttributes {
 public:
  ExpressionAttributes() = default;
  ExpressionAttributes(std::map<std::string, std::string, std::less<>> names, Item values,
                       bool names_given, bool values_given);

  // Parses the two request members (either may be null = absent) with DynamoDB's checks:
  // "ExpressionAttributeNames must not be empty", "ExpressionAttributeValues must not be empty",
  // "ExpressionAttributeNames contains invalid key: Syntax error; key: \"x\"" (names must be
  // #[A-Za-z0-9_]+, values :[A-Za-z0-9_]+), "ExpressionAttributeNames contains invalid value:
  // Empty attribute name for key #a", "ExpressionAttributeValues contains invalid value:
  // <why> for key :v", and the JSON errors of json.h.
  static Result<ExpressionAttributes> FromJson(const rapidjson::Value* names,
                                               const rapidjson::Value* values);

  bool names_given() const { return names_given_; }
  bool values_given() const { return values_given_; }

  // Resolves a placeholder and marks it used; nullptr when undefined.
  const std::string* Name(std::string_view placeholder);
  const AttributeValue* Value(std::string_view placeholder);

  // After every expression of the request was parsed: the unused placeholders, as DynamoDB
  // reports them: "Value provided in ExpressionAttributeNames unused in expressions: keys:
  // {#a, #b}" (names first, then values).
  Status CheckAllUsed() const;

 private:
  std::map<std::string, std::string, std::less<>> names_;
  Item values_;
  std::set<std::string, std::less<>> used_names_;
  std::set<std::string, std::less<>> used_values_;
  bool names_given_ = false;
  bool values_given_ = false;
};

// One step of a document path: a map key / attribute name, or a list index.
struct PathElement {
  bool is_index = false;
  std::string name;
  uint32_t index = 0;

  static PathElement Name(std::string n) { return {false, std::move(n), 0}; }
  static PathElement Index(uint32_t i) { return {true, {}, i}; }
  bool operator==(const PathElement& o) const {
    return is_index == o.is_index && name == o.name && index == o.index;
  }
};
// A document path; the first element is always a name (a top-level attribute).
using DocumentPath = std::vector<PathElement>;

// DynamoDB's rendering in messages: [a, b, [1]].
std::string PathToString(const DocumentPath& path);
// The value at `path`, or nullptr when any step is missing or of the wrong type.
const AttributeValue* FindPath(const Item& item, const DocumentPath& path);

// Checks that no two paths overlap (one a prefix of the other) or conflict (one indexes where
// the other names a key); messages as DynamoDB: "Invalid <kind>: Two document paths overlap
// with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]".
Status CheckPathsDisjoint(ExpressionKind kind, const std::vector<DocumentPath>& paths);

// ---- Conditions ------------------------------------------------------------------------

enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
std::string_view CompareOpText(CompareOp op);  // "=", "<>", ...

// An operand of a condition: a document path, a value, or size(path).
struct Operand {
  enum class Kind : uint8_t { kPath, kValue, kSize };
  Kind kind = Kind::kValue;
  DocumentPath path;     // kPath, kSize
  AttributeValue value;  // kValue

  static Operand Path(DocumentPath p) { return {Kind::kPath, std::move(p), {}}; }
  static Operand Value(AttributeValue v) { return {Kind::kValue, {}, std::move(v)}; }
};

struct Condition {
  enum class Kind : uint8_t {
    kCompare,     // operands[0] op operands[1]
    kBetween,     // operands[0] BETWEEN operands[1] AND operands[2]
    kIn,          // operands[0] IN (operands[1..])
    kAnd,         // children
    kOr,          // children
    kNot,         // children[0]
    kExists,      // attribute_exists(operands[0])
    kNotExists,   // attribute_not_exists(operands[0])
    kType,        // attribute_type(operands[0], operands[1])
    kBeginsWith,  // begins_with(operands[0], operands[1])
    kContains,    // contains(operands[0], operands[1])
  };
  Kind kind = Kind::kAnd;
  CompareOp op = CompareOp::kEq;
  std::vector<Operand> operands;
  std::vector<Condition> children;
};

// Parses a ConditionExpression (kind kCondition) or FilterExpression (kFilter). Grammar and
// errors: docs/dynamodb-expressions.md. Placeholders are resolved through `attrs` (marking them
// used), so the AST holds real names and values.
Result<Condition> ParseCondition(std::string_view text, ExpressionKind kind,
                                 ExpressionAttributes& attrs);

// Evaluates `c` over `item` (an empty item when the item does not exist).
bool EvaluateCondition(const Condition& c, const Item& item);

// The top-level attribute names a condition reads (e.g. to check key attributes in filters).
void CollectConditionAttributes(const Condition& c, std::set<std::string>* out);

// ---- Projections -----------------------------------------------------------------------

// Parses "a, b.c, d[1]" (overlapping paths are errors, as in DynamoDB).
Result<std::vector<DocumentPath>> ParseProjection(std::string_view text, ExpressionAttributes& attrs);

// The parts of `item` named by `paths`: maps keep the projected keys, lists keep the projected
// elements in index order (a[1], a[3] -> a: [a1, a3]); missing paths are skipped. Also builds
// UpdateItem's UPDATED_OLD / UPDATED_NEW from the updated paths.
Item ApplyProjection(const Item& item, const std::vector<DocumentPath>& paths);

}  // namespace amalgam::dynamo
