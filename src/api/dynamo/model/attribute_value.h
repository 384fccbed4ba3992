#pragma once
// DynamoDB attribute values and items, with DynamoDB's number rules and item-size rules.
//
// API (pure values, no I/O; thread-safe as values):
//   AttributeValue     one value of type S, N, B, BOOL, NULL, M, L, SS, NS, BS. Build with
//                      AttributeValue::S("x"), ::N(canonical), ::B(bytes), ::Bool, ::Null,
//                      ::M(map), ::L(list), ::SS/NS/BS(members). Members of N/NS are always the
//                      canonical decimal text (CanonicalizeNumber); S is UTF-8; B is raw bytes.
//   Item               attribute name -> AttributeValue (ordered by name).
//   CanonicalizeNumber validates DynamoDB number text, returns the canonical form.
//   CompareNumbers / AddNumbers / SubtractNumbers: exact decimal arithmetic on canonical text.
//   operator==         DynamoDB equality (sets compare unordered, N by value).
//   ItemSize / AttributeValueSize: the size DynamoDB charges and limits (400 KB per item).
//
// Errors are Status values with ErrorCode::kBadValue (DynamoDB ValidationException) and
// DynamoDB's messages.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace amalgam::dynamo {

// The ten DynamoDB types. Persisted nowhere (the BSON mapping is by BSON type).
enum class AttrType : uint8_t { kS, kN, kB, kBool, kNull, kM, kL, kSS, kNS, kBS };

// "S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS".
std::string_view AttrTypeName(AttrType t);
// Inverse of AttrTypeName; false for an unknown name.
bool AttrTypeFromName(std::string_view name, AttrType* out);
inline bool IsSetType(AttrType t) { return t == AttrType::kSS || t == AttrType::kNS || t == AttrType::kBS; }
// The element type of a set type (SS -> S ...), or the set type of a scalar (S -> SS ...).
AttrType SetElementType(AttrType set_type);
AttrType SetTypeOf(AttrType scalar_type);

struct AttributeValue;
using AttributeMap = std::map<std::string, AttributeValue, std::less<>>;
using AttributeList = std::vector<AttributeValue>;
// An item (or a key): attribute name -> value.
using Item = AttributeMap;

struct AttributeValue {
  AttrType type = AttrType::kNull;
  bool boolean = false;              // BOOL
  std::string scalar;                // S (UTF-8), N (canonical text), B (raw bytes)
  std::vector<std::string> members;  // SS / NS (canonical) / BS, distinct, in insertion order
  AttributeList list;                // L
  AttributeMap map;                  // M

  static AttributeValue S(std::string s);
  // REQUIRES: `canonical` came from CanonicalizeNumber (or an arithmetic function here).
  static AttributeValue N(std::string canonical);
  static AttributeValue B(std::string bytes);
  static AttributeValue Bool(bool b);
  static AttributeValue Null();
  static AttributeValue M(AttributeMap m);
  static AttributeValue L(AttributeList l);
  // REQUIRES: members non-empty and distinct (NS: canonical).
  static AttributeValue SS(std::vector<std::string> m);
  static AttributeValue NS(std::vector<std::string> m);
  static AttributeValue BS(std::vector<std::string> m);

  bool is_set() const { return IsSetType(type); }
};

// DynamoDB equality: same type, and equal value; sets compare as unordered collections, maps by
// their keys, lists element by element, numbers by value.
bool operator==(const AttributeValue& a, const AttributeValue& b);
inline bool operator!=(const AttributeValue& a, const AttributeValue& b) { return !(a == b); }

// ---- Numbers ---------------------------------------------------------------------------

// Validates number text as DynamoDB does ([+-]digits[.digits][e[+-]digits], no spaces, no
// NaN/Infinity) and returns its canonical form: no exponent, no leading or trailing zeros,
// "0" for zero ("1.50E+2" -> "150", "-0.0" -> "0", "1e-3" -> "0.001").
// Errors (kBadValue): "The parameter cannot be converted to a numeric value: <text>";
// "Number overflow. Attempting to store a number with magnitude larger than supported range"
// (|x| >= 1e126); "Number underflow. Attempting to store a number with magnitude smaller than
// supported range" (0 < |x| < 1e-130); "Attempting to store more than 38 significant digits
// in a Number".
Result<std::string> CanonicalizeNumber(std::string_view text);

// <0, 0, >0 by numeric value. REQUIRES: both canonical.
int CompareNumbers(std::string_view a, std::string_view b);
// Exact a + b and a - b. REQUIRES: both canonical. A result outside DynamoDB's range or with
// more than 38 significant digits fails with DynamoDB's message for that case (which is the
// overflow message even for lost precision, as DynamoDB answers).
Result<std::string> AddNumbers(std::string_view a, std::string_view b);
Result<std::string> SubtractNumbers(std::string_view a, std::string_view b);
// Number of significant digits of a canonical number (0 for zero).
int SignificantDigits(std::string_view canonical);

// ---- Sizes -----------------------------------------------------------------------------

inline constexpr size_t kMaxItemSize = 400 * 1024;
// DynamoDB allows 32 levels counting the innermost scalar: at most 31 nested M/L around it
// (NestingDepth(v) <= 31 for every attribute value).
inline constexpr int kMaxNestingDepth = 32;
inline constexpr int kMaxContainerDepth = kMaxNestingDepth - 1;
inline constexpr std::string_view kNestingError =
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels "
    "beyond supported limit";

// DynamoDB's sizes: S and B their byte length; N 1 byte + 1 per base-100 digit pair aligned on
// the decimal point, without leading/trailing zero pairs, + 1 if negative (NumberSize); BOOL and
// NULL 1; sets the sum of their members; M and L 3 bytes plus, per element, 1 byte plus the
// element (and, in M, the key's length).
size_t NumberSize(std::string_view canonical);
size_t AttributeValueSize(const AttributeValue& v);
// Sum over attributes of name length + value size.
size_t ItemSize(const Item& item);

// Depth of nested M/L (a scalar is 0, {"M": {}} is 1).
int NestingDepth(const AttributeValue& v);

// ---- Vectors ---------------------------------------------------------------------------

// Checks the value of a vector index's attribute in an item being written: it must be an L of
// exactly `dims` N elements, each a finite 32-bit float (DynamoDB stores vectors as float32 and
// rejects such writes). Errors (kBadValue, ValidationException), naming the attribute, the index
// and the offending element: "One or more parameter values were invalid: Invalid type for
// vector attribute emb: expected a list (L) of numbers, got S. IndexName: ByEmb"; "... Vector
// attribute emb has 3 dimensions but vector index ByEmb has 4"; "... Vector attribute emb
// element [2] is of type S, expected N. IndexName: ByEmb"; "... Vector attribute emb element
// [0] 1e39 is outside the 32-bit floating point range. IndexName: ByEmb".
Status CheckVectorValue(const AttributeValue& v, std::string_view attr, uint32_t dims, std::string_view index_name);

// A short human form for messages and test output, e.g. {"a": {"N": "1"}} as JSON-like text.
std::string DebugString(const AttributeValue& v);
std::string DebugString(const Item& item);

}  // namespace amalgam::dynamo
