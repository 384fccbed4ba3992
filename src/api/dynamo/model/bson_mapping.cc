#include "api/dynamo/model/bson_mapping.h"

#include <charconv>
#include <cmath>
#include <set>
#include <variant>
#include <vector>

#include "bson/json.h"
#include "bson/number.h"

namespace amalgam::dynamo {
namespace {

constexpr int kMaxDecimal128Digits = 34;

Status Invalid(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }

// A path component of a `_ddbSets` entry: an attribute/map key or a list position.
using PathComponent = std::variant<std::string, int32_t>;
struct SetEntry {
  std::vector<PathComponent> path;
  AttrType type;
};

bson::ExactNumber ExactFromCanonical(std::string_view s) {
  bson::ExactNumber n;
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.remove_prefix(1);
  size_t dot = s.find('.');
  int32_t int_len = static_cast<int32_t>(dot == std::string_view::npos ? s.size() : dot);
  std::string digits;
  for (char c : s) {
    if (c != '.') digits.push_back(c);
  }
  size_t lead = digits.find_first_not_of('0');
  if (lead == std::string::npos) return n;  // zero
  digits.erase(0, lead);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  n.kind = neg ? bson::ExactNumber::Kind::kNegative : bson::ExactNumber::Kind::kPositive;
  n.exponent = int_len - static_cast<int32_t>(lead);
  n.digits = std::move(digits);
  return n;
}

// The DynamoDB number for an exact BSON number, if it is within DynamoDB's range.
std::optional<std::string> CanonicalFromExact(const bson::ExactNumber& n) {
  using K = bson::ExactNumber::Kind;
  if (n.kind == K::kZero) return std::string("0");
  if (n.kind != K::kNegative && n.kind != K::kPositive) return std::nullopt;
  if (n.digits.size() > 38) return std::nullopt;
  std::string text = n.kind == K::kNegative ? "-0." : "0.";
  text += n.digits;
  text += "e" + std::to_string(n.exponent);
  Result<std::string> c = CanonicalizeNumber(text);
  if (!c.ok()) return std::nullopt;
  return std::move(c).value();
}

std::string ExtendedJsonOf(const bson::Value& v) {
  bson::Builder b;
  b.AppendValue("v", v);
  bson::Document d = std::move(b).Finish();
  std::string json = bson::ToJson(d.view());
  // libbson renders { "v" : <value> }.
  constexpr std::string_view kPrefix = "{ \"v\" : ";
  if (json.size() >= kPrefix.size() + 2 && json.compare(0, kPrefix.size(), kPrefix) == 0) {
    return json.substr(kPrefix.size(), json.size() - kPrefix.size() - 2);
  }
  return json;
}

void AppendValue(const AttributeValue& v, bson::Builder& b, std::string_view name,
                 std::vector<PathComponent>* path, std::vector<SetEntry>* sets) {
  switch (v.type) {
    case AttrType::kS:
      b.AppendString(name, v.scalar);
      break;
    case AttrType::kN:
      AppendNumber(v.scalar, b, name);
      break;
    case AttrType::kB:
      b.AppendBinary(name, 0, {reinterpret_cast<const uint8_t*>(v.scalar.data()), v.scalar.size()});
      break;
    case AttrType::kBool:
      b.AppendBool(name, v.boolean);
      break;
    case AttrType::kNull:
      b.AppendNull(name);
      break;
    case AttrType::kM:
      b.StartDocument(name);
      for (const auto& [k, e] : v.map) {
        path->push_back(k);
        AppendValue(e, b, k, path, sets);
        path->pop_back();
      }
      b.EndDocument();
      break;
    case AttrType::kL: {
      b.StartArray(name);
      bson::ArrayBuilder ab(b);
      for (size_t i = 0; i < v.list.size(); ++i) {
        path->push_back(static_cast<int32_t>(i));
        std::string_view elem = ab.Next();
        std::string elem_name(elem);
        AppendValue(v.list[i], b, elem_name, path, sets);
        path->pop_back();
      }
      b.EndArray();
      break;
    }
    case AttrType::kSS:
    case AttrType::kNS:
    case AttrType::kBS: {
      sets->push_back({*path, v.type});
      b.StartArray(name);
      bson::ArrayBuilder ab(b);
      for (const auto& m : v.members) {
        std::string elem_name(ab.Next());
        if (v.type == AttrType::kSS) {
          b.AppendString(elem_name, m);
        } else if (v.type == AttrType::kNS) {
          AppendNumber(m, b, elem_name);
        } else {
          b.AppendBinary(elem_name, 0, {reinterpret_cast<const uint8_t*>(m.data()), m.size()});
        }
      }
      b.EndArray();
      break;
    }
  }
}

// Navigates `doc` by a `_ddbSets` path; a missing Value when the path does not exist.
bson::Value BsonAt(bson::DocView doc, const std::vector<PathComponent>& path) {
  bson::Value cur;
  bson::DocView d = doc;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i > 0) {
      if (cur.type() != bson::BsonType::kDocument && cur.type() != bson::BsonType::kArray) {
        return {};
      }
      bool want_array = std::holds_alternative<int32_t>(path[i]);
      if (want_array != (cur.type() == bson::BsonType::kArray)) return {};
      d = cur.AsDocument();
    }
    if (const auto* s = std::get_if<std::string>(&path[i])) {
      cur = d.Get(*s);
    } else {
      cur = d.Get(std::to_string(std::get<int32_t>(path[i])));
    }
    if (cur.missing()) return {};
  }
  return cur;
}

AttributeValue* AttrAt(Item& item, const std::vector<PathComponent>& path) {
  const auto* first = std::get_if<std::string>(&path[0]);
  if (!first) return nullptr;
  auto it = item.find(*first);
  if (it == item.end()) return nullptr;
  AttributeValue* cur = &it->second;
  for (size_t i = 1; i < path.size(); ++i) {
    if (const auto* s = std::get_if<std::string>(&path[i])) {
      if (cur->type != AttrType::kM) return nullptr;
      auto mit = cur->map.find(*s);
      if (mit == cur->map.end()) return nullptr;
      cur = &mit->second;
    } else {
      int32_t idx = std::get<int32_t>(path[i]);
      if (cur->type != AttrType::kL || idx < 0 || static_cast<size_t>(idx) >= cur->list.size()) {
        return nullptr;
      }
      cur = &cur->list[static_cast<size_t>(idx)];
    }
  }
  return cur;
}

// True if the stored array `v` is still a valid set of `type` (element types, non-empty,
// distinct).
bool StillASet(const bson::Value& v, AttrType type) {
  if (v.type() != bson::BsonType::kArray) return false;
  bson::DocView arr = v.AsDocument();
  if (arr.empty()) return false;
  for (const auto& e : arr) {
    switch (type) {
      case AttrType::kSS:
        if (e.value.type() != bson::BsonType::kString) return false;
        break;
      case AttrType::kNS:
        if (e.value.type() == bson::BsonType::kDecimal128) break;
        if (e.value.type() == bson::BsonType::kBinary &&
            e.value.AsBinary().subtype == kExactNumberSubtype) {
          break;
        }
        return false;
      case AttrType::kBS:
        if (e.value.type() != bson::BsonType::kBinary ||
            e.value.AsBinary().subtype == kExactNumberSubtype) {
          return false;
        }
        break;
      default:
        return false;
    }
  }
  return true;
}

void ApplySets(bson::DocView doc, const bson::Value& sets, Item* item) {
  if (sets.type() != bson::BsonType::kArray) return;
  for (const auto& entry : sets.AsDocument()) {
    if (entry.value.type() != bson::BsonType::kArray) continue;
    std::vector<bson::Value> parts;
    for (const auto& p : entry.value.AsDocument()) parts.push_back(p.value);
    if (parts.size() < 2 || parts.back().type() != bson::BsonType::kString) continue;
    AttrType type;
    if (!AttrTypeFromName(parts.back().AsString(), &type) || !IsSetType(type)) continue;
    SetEntry se{{}, type};
    bool ok = parts[0].type() == bson::BsonType::kString;
    for (size_t i = 0; ok && i + 1 < parts.size(); ++i) {
      if (parts[i].type() == bson::BsonType::kString) {
        se.path.emplace_back(std::string(parts[i].AsString()));
      } else if (parts[i].type() == bson::BsonType::kInt32) {
        se.path.emplace_back(parts[i].AsInt32());
      } else {
        ok = false;
      }
    }
    if (!ok || !StillASet(BsonAt(doc, se.path), type)) continue;
    AttributeValue* target = AttrAt(*item, se.path);
    if (!target || target->type != AttrType::kL) continue;
    AttrType elem = SetElementType(type);
    std::vector<std::string> members;
    std::set<std::string_view> seen;
    for (auto& e : target->list) {
      if (e.type != elem || !seen.insert(e.scalar).second) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    for (auto& e : target->list) members.push_back(std::move(e.scalar));
    target->list.clear();
    target->type = type;
    target->members = std::move(members);
  }
}

// The `_id` (or `_id._id`) component read back as the hash key `_id` of type `type`.
std::optional<AttributeValue> KeyComponentFromBson(const bson::Value& v, AttrType type) {
  switch (type) {
    case AttrType::kS:
      if (v.type() == bson::BsonType::kString) return AttributeValue::S(std::string(v.AsString()));
      return std::nullopt;
    case AttrType::kN: {
      if (!v.IsNumber()) return std::nullopt;
      AttributeValue a = AttributeValueFromBson(v);
      if (a.type != AttrType::kN) return std::nullopt;
      return a;
    }
    case AttrType::kB: {
      std::string bytes;
      if (v.type() != bson::BsonType::kString || !HexDecode(v.AsString(), &bytes)) return std::nullopt;
      return AttributeValue::B(std::move(bytes));
    }
    default:
      return std::nullopt;
  }
}

Status CheckKeyValue(const std::string& name, const AttributeValue& v, bool is_hash) {
  if ((v.type == AttrType::kS || v.type == AttrType::kB) && v.scalar.empty()) {
    return Invalid(std::string("One or more parameter values are not valid. The AttributeValue for a "
                               "key attribute cannot contain an empty ") +
                   (v.type == AttrType::kS ? "string" : "binary") + " value. Key: " + name);
  }
  size_t size = AttributeValueSize(v);
  if (is_hash && size > kMaxHashKeySize) {
    return Invalid(
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size "
        "limit of2048 bytes");
  }
  if (!is_hash && size > kMaxRangeKeySize) {
    return Invalid(
        "One or more parameter values were invalid: Aggregated size of all range keys has exceeded "
        "the size limit of 1024 bytes");
  }
  if (v.type == AttrType::kN && SignificantDigits(v.scalar) > kMaxDecimal128Digits) {
    return Invalid("One or more parameter values were invalid: key attribute " + name +
                   " has more than 34 significant digits, which this server does not support in "
                   "key attributes");
  }
  return Status::OK();
}

// BSON field names are C strings: a name with a NUL byte cannot be stored as written.
bool HasNulInNames(const AttributeValue& v) {
  if (v.type == AttrType::kM) {
    for (const auto& [k, e] : v.map) {
      if (k.find('\0') != std::string::npos || HasNulInNames(e)) return true;
    }
  } else if (v.type == AttrType::kL) {
    for (const auto& e : v.list) {
      if (HasNulInNames(e)) return true;
    }
  }
  return false;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool HexDecode(std::string_view hex, std::string* out) {
  if (hex.size() % 2) return false;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int h = val(hex[i]), l = val(hex[i + 1]);
    if (h < 0 || l < 0) return false;
    out->push_back(static_cast<char>(h * 16 + l));
  }
  return true;
}

void AppendNumber(std::string_view canonical, bson::Builder& b, std::string_view field_name) {
  bson::ExactNumber n = ExactFromCanonical(canonical);
  if (n.digits.size() <= kMaxDecimal128Digits) {
    int32_t quantum = n.kind == bson::ExactNumber::Kind::kZero
                          ? 0
                          : n.exponent - static_cast<int32_t>(n.digits.size());
    bson::Decimal128Bits bits;
    if (bson::ExactToDecimal128(n, quantum, false, &bits)) {
      b.AppendDecimal128(field_name, bits);
      return;
    }
  }
  b.AppendBinary(field_name, kExactNumberSubtype,
                 {reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size()});
}

AttributeValue AttributeValueFromBson(const bson::Value& v) {
  using T = bson::BsonType;
  switch (v.type()) {
    case T::kString:
    case T::kSymbol:
      return AttributeValue::S(std::string(v.AsString()));
    case T::kInt32:
      return AttributeValue::N(std::to_string(v.AsInt32()));
    case T::kInt64:
      return AttributeValue::N(std::to_string(v.AsInt64()));
    case T::kDouble: {
      double d = v.AsDouble();
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      std::string text(buf, r.ptr);
      if (!std::isfinite(d)) {
        return AttributeValue::S(std::isnan(d) ? "NaN" : (d > 0 ? "Infinity" : "-Infinity"));
      }
      Result<std::string> c = CanonicalizeNumber(text);
      if (c.ok()) return AttributeValue::N(std::move(c).value());
      return AttributeValue::S(std::move(text));
    }
    case T::kDecimal128: {
      std::optional<std::string> c = CanonicalFromExact(bson::ExactFromDecimal128(v.AsDecimal128()));
      if (c) return AttributeValue::N(std::move(*c));
      return AttributeValue::S(bson::Decimal128ToString(v.AsDecimal128()));
    }
    case T::kBool:
      return AttributeValue::Bool(v.AsBool());
    case T::kNull:
      return AttributeValue::Null();
    case T::kDocument: {
      AttributeMap m;
      for (const auto& e : v.AsDocument()) m.insert_or_assign(std::string(e.name), AttributeValueFromBson(e.value));
      return AttributeValue::M(std::move(m));
    }
    case T::kArray: {
      AttributeList l;
      for (const auto& e : v.AsDocument()) l.push_back(AttributeValueFromBson(e.value));
      return AttributeValue::L(std::move(l));
    }
    case T::kBinary: {
      bson::Binary bin = v.AsBinary();
      std::string bytes(reinterpret_cast<const char*>(bin.data.data()), bin.data.size());
      if (bin.subtype == kExactNumberSubtype) {
        Result<std::string> c = CanonicalizeNumber(bytes);
        if (c.ok() && c.value() == bytes) return AttributeValue::N(std::move(bytes));
      }
      return AttributeValue::B(std::move(bytes));
    }
    default:
      return AttributeValue::S(ExtendedJsonOf(v));
  }
}

Status CheckReservedNames(const KeySchema& schema, const Item& item) {
  if (item.count(kSetsField)) {
    return Invalid("One or more parameter values were invalid: The attribute name _ddbSets is "
                   "reserved by this server");
  }
  if (schema.hash_name != "_id" && item.count("_id")) {
    return Invalid("One or more parameter values were invalid: The attribute name _id is reserved "
                   "by this server unless it is the table's partition key");
  }
  return Status::OK();
}

Status ValidateItemForWrite(const KeySchema& schema, const Item& item) {
  AMALGAM_RETURN_IF_ERROR(CheckReservedNames(schema, item));
  for (int k = 0; k < (schema.has_range() ? 2 : 1); ++k) {
    const std::string& name = k == 0 ? schema.hash_name : *schema.range_name;
    AttrType type = k == 0 ? schema.hash_type : schema.range_type;
    auto it = item.find(name);
    if (it == item.end()) {
      return Invalid("One or more parameter values were invalid: Missing the key " + name +
                     " in the item");
    }
    if (it->second.type != type) {
      return Invalid("One or more parameter values were invalid: Type mismatch for key " + name +
                     " expected: " + std::string(AttrTypeName(type)) +
                     " actual: " + std::string(AttrTypeName(it->second.type)));
    }
    AMALGAM_RETURN_IF_ERROR(CheckKeyValue(name, it->second, k == 0));
  }
  if (ItemSize(item) > kMaxItemSize) {
    return Invalid("Item size has exceeded the maximum allowed size");
  }
  for (const auto& [name, v] : item) {
    if (NestingDepth(v) > kMaxContainerDepth) {
      return Invalid(std::string(kNestingError));
    }
    if (name.find('\0') != std::string::npos || HasNulInNames(v)) {
      return Invalid(
          "One or more parameter values were invalid: attribute names containing the NUL "
          "character are not supported by this server");
    }
  }
  return Status::OK();
}

Status ValidateKey(const KeySchema& schema, const Item& key) {
  const size_t want = schema.has_range() ? 2 : 1;
  auto mismatch = [] { return Invalid("The provided key element does not match the schema"); };
  if (key.size() != want) return mismatch();
  for (int k = 0; k < static_cast<int>(want); ++k) {
    const std::string& name = k == 0 ? schema.hash_name : *schema.range_name;
    AttrType type = k == 0 ? schema.hash_type : schema.range_type;
    auto it = key.find(name);
    if (it == key.end() || it->second.type != type) return mismatch();
    AMALGAM_RETURN_IF_ERROR(CheckKeyValue(name, it->second, k == 0));
  }
  return Status::OK();
}

Item ExtractKey(const KeySchema& schema, const Item& item) {
  Item key;
  auto it = item.find(schema.hash_name);
  if (it != item.end()) key.insert(*it);
  if (schema.has_range()) {
    it = item.find(*schema.range_name);
    if (it != item.end()) key.insert(*it);
  }
  return key;
}

void AppendKeyComponent(const AttributeValue& v, bson::Builder& b, std::string_view field_name) {
  switch (v.type) {
    case AttrType::kN:
      AppendNumber(v.scalar, b, field_name);
      break;
    case AttrType::kB:
      b.AppendString(field_name, HexEncode(v.scalar));
      break;
    default:
      b.AppendString(field_name, v.scalar);
      break;
  }
}

void AppendId(const KeySchema& schema, const Item& key_or_item, bson::Builder& b,
              std::string_view field_name) {
  const AttributeValue& h = key_or_item.find(schema.hash_name)->second;
  if (!schema.has_range()) {
    AppendKeyComponent(h, b, field_name);
    return;
  }
  const AttributeValue& r = key_or_item.find(*schema.range_name)->second;
  b.StartDocument(field_name);
  AppendKeyComponent(h, b, schema.hash_name);
  AppendKeyComponent(r, b, *schema.range_name);
  b.EndDocument();
}

bson::Document BuildIdDocument(const KeySchema& schema, const Item& key_or_item) {
  bson::Builder b;
  AppendId(schema, key_or_item, b);
  return std::move(b).Finish();
}

bson::Document ItemToBson(const KeySchema& schema, const Item& item) {
  bson::Builder b;
  AppendId(schema, item, b);
  std::vector<PathComponent> path;
  std::vector<SetEntry> sets;
  for (const auto& [name, v] : item) {
    if (name == "_id") continue;  // only allowed as the hash key, which `_id` already holds
    path.assign(1, name);
    AppendValue(v, b, name, &path, &sets);
  }
  if (!sets.empty()) {
    b.StartArray(kSetsField);
    bson::ArrayBuilder outer(b);
    for (const auto& s : sets) {
      b.StartArray(outer.Next());
      bson::ArrayBuilder inner(b);
      for (const auto& c : s.path) {
        std::string elem(inner.Next());
        if (const auto* str = std::get_if<std::string>(&c)) {
          b.AppendString(elem, *str);
        } else {
          b.AppendInt32(elem, std::get<int32_t>(c));
        }
      }
      std::string elem(inner.Next());
      b.AppendString(elem, AttrTypeName(s.type));
      b.EndArray();
    }
    b.EndArray();
  }
  return std::move(b).Finish();
}

Item ItemFromBson(const KeySchema& schema, bson::DocView doc) {
  Item item;
  bson::Value sets;
  for (const auto& e : doc) {
    if (e.name == kSetsField) {
      sets = e.value;
      continue;
    }
    if (e.name == "_id") {
      if (schema.hash_name != "_id") continue;
      bson::Value component = e.value;
      if (schema.has_range()) {
        component = e.value.type() == bson::BsonType::kDocument ? e.value.AsDocument().Get("_id")
                                                                : bson::Value();
      }
      if (component.missing()) continue;
      std::optional<AttributeValue> k = KeyComponentFromBson(component, schema.hash_type);
      item.insert_or_assign("_id", k ? std::move(*k) : AttributeValueFromBson(component));
      continue;
    }
    item.insert_or_assign(std::string(e.name), AttributeValueFromBson(e.value));
  }
  if (!sets.missing()) ApplySets(doc, sets, &item);
  return item;
}

}  // namespace amalgam::dynamo
