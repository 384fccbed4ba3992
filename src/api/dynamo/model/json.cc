#include "api/dynamo/model/json.h"

#include "api/dynamo/model/rapidjson.h"

#include <algorithm>
#include <set>

namespace amalgam::dynamo {
namespace {

Status Serialization(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }
Status Validation(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }

// DynamoDB's (Coral's) wording for a JSON token of the wrong kind.
Status WrongJsonType(const rapidjson::Value& v, std::string_view expected) {
  std::string what;
  switch (v.GetType()) {
    case rapidjson::kObjectType:
      return Serialization("Start of structure or map found where not expected.");
    case rapidjson::kArrayType:
      return Serialization("Start of list found where not expected");
    case rapidjson::kStringType: what = "STRING_VALUE"; break;
    case rapidjson::kNumberType: what = "NUMBER_VALUE"; break;
    case rapidjson::kTrueType: what = "TRUE_VALUE"; break;
    case rapidjson::kFalseType: what = "FALSE_VALUE"; break;
    default: what = "NULL_VALUE"; break;
  }
  return Serialization(what + " cannot be converted to " + std::string(expected));
}

int B64Index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string JoinForMessage(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += v[i];
  }
  return out + "]";
}

Result<AttributeValue> Parse(const rapidjson::Value& json, int depth);

Result<std::string> GetString(const rapidjson::Value& v) {
  if (!v.IsString()) return WrongJsonType(v, "String");
  return std::string(v.GetString(), v.GetStringLength());
}

Result<std::vector<std::string>> GetStringList(const rapidjson::Value& v) {
  if (!v.IsArray()) {
    if (v.IsObject()) return Serialization("Start of structure or map found where not expected.");
    return Serialization("Expected list or null");
  }
  std::vector<std::string> out;
  out.reserve(v.Size());
  for (const auto& e : v.GetArray()) {
    if (e.IsNull()) continue;  // Coral drops nulls in lists of scalars
    AMALGAM_ASSIGN_OR_RETURN(std::string s, GetString(e));
    out.push_back(std::move(s));
  }
  return out;
}

Result<AttributeValue> ParseTyped(AttrType type, const rapidjson::Value& v, int depth) {
  switch (type) {
    case AttrType::kS: {
      AMALGAM_ASSIGN_OR_RETURN(std::string s, GetString(v));
      return AttributeValue::S(std::move(s));
    }
    case AttrType::kN: {
      AMALGAM_ASSIGN_OR_RETURN(std::string s, GetString(v));
      AMALGAM_ASSIGN_OR_RETURN(std::string n, CanonicalizeNumber(s));
      return AttributeValue::N(std::move(n));
    }
    case AttrType::kB: {
      if (!v.IsString()) return WrongJsonType(v, "Blob");
      AMALGAM_ASSIGN_OR_RETURN(std::string b, Base64Decode({v.GetString(), v.GetStringLength()}));
      return AttributeValue::B(std::move(b));
    }
    case AttrType::kBool:
      if (!v.IsBool()) return WrongJsonType(v, "Boolean");
      return AttributeValue::Bool(v.GetBool());
    case AttrType::kNull:
      if (!v.IsBool()) return WrongJsonType(v, "Boolean");
      if (!v.GetBool()) {
        return Validation(
            "One or more parameter values were invalid: Null attribute value types must have the "
            "value of true");
      }
      return AttributeValue::Null();
    case AttrType::kM: {
      if (!v.IsObject()) {
        if (v.IsArray()) return Serialization("Start of list found where not expected");
        return Serialization("Expected map or null");
      }
      if (depth >= kMaxContainerDepth) {
        return Validation(std::string(kNestingError));
      }
      AttributeMap m;
      for (const auto& member : v.GetObject()) {
        if (member.value.IsNull()) continue;
        AMALGAM_ASSIGN_OR_RETURN(AttributeValue e, Parse(member.value, depth + 1));
        m.insert_or_assign(std::string(member.name.GetString(), member.name.GetStringLength()),
                           std::move(e));
      }
      return AttributeValue::M(std::move(m));
    }
    case AttrType::kL: {
      if (!v.IsArray()) {
        if (v.IsObject()) return Serialization("Start of structure or map found where not expected.");
        return Serialization("Expected list or null");
      }
      if (depth >= kMaxContainerDepth) {
        return Validation(std::string(kNestingError));
      }
      AttributeList l;
      l.reserve(v.Size());
      for (const auto& e : v.GetArray()) {
        if (e.IsNull()) continue;
        AMALGAM_ASSIGN_OR_RETURN(AttributeValue x, Parse(e, depth + 1));
        l.push_back(std::move(x));
      }
      return AttributeValue::L(std::move(l));
    }
    case AttrType::kSS: {
      AMALGAM_ASSIGN_OR_RETURN(std::vector<std::string> m, GetStringList(v));
      if (m.empty()) {
        return Validation("One or more parameter values were invalid: An string set  may not be empty");
      }
      std::set<std::string_view> seen;
      for (const auto& s : m) {
        if (!seen.insert(s).second) {
          return Validation("One or more parameter values were invalid: Input collection " +
                            JoinForMessage(m) + " contains duplicates.");
        }
      }
      return AttributeValue::SS(std::move(m));
    }
    case AttrType::kNS: {
      AMALGAM_ASSIGN_OR_RETURN(std::vector<std::string> m, GetStringList(v));
      if (m.empty()) {
        return Validation("One or more parameter values were invalid: An number set  may not be empty");
      }
      std::vector<std::string> canon;
      canon.reserve(m.size());
      for (const auto& s : m) {
        AMALGAM_ASSIGN_OR_RETURN(std::string n, CanonicalizeNumber(s));
        canon.push_back(std::move(n));
      }
      std::set<std::string_view> seen;
      for (const auto& s : canon) {
        if (!seen.insert(s).second) {
          return Validation("One or more parameter values were invalid: Input collection " +
                            JoinForMessage(m) + " contains duplicates.");
        }
      }
      return AttributeValue::NS(std::move(canon));
    }
    case AttrType::kBS: {
      if (!v.IsArray()) return GetStringList(v).status();
      std::vector<std::string> m, shown;
      for (const auto& e : v.GetArray()) {
        if (e.IsNull()) continue;
        if (!e.IsString()) return WrongJsonType(e, "Blob");
        shown.emplace_back(e.GetString(), e.GetStringLength());
        AMALGAM_ASSIGN_OR_RETURN(std::string b, Base64Decode(shown.back()));
        m.push_back(std::move(b));
      }
      if (m.empty()) {
        return Validation("One or more parameter values were invalid: Binary sets should not be empty");
      }
      std::set<std::string_view> seen;
      for (const auto& s : m) {
        if (!seen.insert(s).second) {
          return Validation("One or more parameter values were invalid: Input collection " +
                            JoinForMessage(shown) + "of type BS contains duplicates.");
        }
      }
      return AttributeValue::BS(std::move(m));
    }
  }
  return Serialization("unknown attribute type");
}

Result<AttributeValue> Parse(const rapidjson::Value& json, int depth) {
  if (!json.IsObject()) {
    if (json.IsArray()) return Serialization("Start of list found where not expected");
    return Serialization("Expected map or null");
  }
  const rapidjson::Value* found = nullptr;
  AttrType found_type = AttrType::kNull;
  int count = 0;
  for (const auto& member : json.GetObject()) {
    AttrType t;
    if (member.value.IsNull()) continue;  // an explicit null is an absent member
    if (!AttrTypeFromName({member.name.GetString(), member.name.GetStringLength()}, &t)) {
      continue;  // unknown members are ignored, as DynamoDB's deserializer does
    }
    ++count;
    if (!found) {
      found = &member.value;
      found_type = t;
    }
  }
  if (count == 0) {
    return Validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  }
  if (count > 1) {
    return Validation(
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
        "supported datatypes");
  }
  return ParseTyped(found_type, *found, depth);
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                 static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    uint32_t n = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  auto fail = [&](std::string why) {
    std::string shown(text.substr(0, 200));
    return Serialization("'" + shown + "' can not be converted to a Blob: " + why);
  };
  if (text.size() % 4 != 0) {
    return fail("Base64 encoded length is expected a multiple of 4 bytes but found: " +
                std::to_string(text.size()));
  }
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    int idx = B64Index(text[i]);
    if (idx < 0) return fail(std::string("Invalid Base64 character: '") + text[i] + "'");
    acc = (acc << 6) | static_cast<uint32_t>(idx);
    if (i % 4 == 3) {
      out.push_back(static_cast<char>((acc >> 16) & 255));
      out.push_back(static_cast<char>((acc >> 8) & 255));
      out.push_back(static_cast<char>(acc & 255));
      acc = 0;
    }
  }
  if (pad == 1) {  // 3 symbols = 18 bits: 2 bytes + 2 zero bits
    if (acc & 3) return fail("Invalid last non-pad Base64 character dectected");
    out.push_back(static_cast<char>((acc >> 10) & 255));
    out.push_back(static_cast<char>((acc >> 2) & 255));
  } else if (pad == 2) {  // 2 symbols = 12 bits: 1 byte + 4 zero bits
    if (acc & 15) return fail("Invalid last non-pad Base64 character dectected");
    out.push_back(static_cast<char>((acc >> 4) & 255));
  }
  return out;
}

Result<AttributeValue> ParseAttributeValue(const rapidjson::Value& json) { return Parse(json, 0); }

Result<Item> ParseItem(const rapidjson::Value& json) {
  if (!json.IsObject()) {
    if (json.IsArray()) return Serialization("Start of list found where not expected");
    return Serialization("Expected map or null");
  }
  Item item;
  for (const auto& member : json.GetObject()) {
    if (member.value.IsNull()) continue;
    AMALGAM_ASSIGN_OR_RETURN(AttributeValue v, Parse(member.value, 0));
    item.insert_or_assign(std::string(member.name.GetString(), member.name.GetStringLength()),
                          std::move(v));
  }
  return item;
}

void WriteAttributeValue(const AttributeValue& v, JsonWriter& w) {
  w.StartObject();
  std::string_view name = AttrTypeName(v.type);
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  switch (v.type) {
    case AttrType::kS:
    case AttrType::kN:
      w.String(v.scalar.data(), static_cast<rapidjson::SizeType>(v.scalar.size()));
      break;
    case AttrType::kB: {
      std::string b = Base64Encode(v.scalar);
      w.String(b.data(), static_cast<rapidjson::SizeType>(b.size()));
      break;
    }
    case AttrType::kBool:
      w.Bool(v.boolean);
      break;
    case AttrType::kNull:
      w.Bool(true);
      break;
    case AttrType::kM:
      WriteItem(v.map, w);
      break;
    case AttrType::kL:
      w.StartArray();
      for (const auto& e : v.list) WriteAttributeValue(e, w);
      w.EndArray();
      break;
    case AttrType::kSS:
    case AttrType::kNS:
      w.StartArray();
      for (const auto& m : v.members) w.String(m.data(), static_cast<rapidjson::SizeType>(m.size()));
      w.EndArray();
      break;
    case AttrType::kBS:
      w.StartArray();
      for (const auto& m : v.members) {
        std::string b = Base64Encode(m);
        w.String(b.data(), static_cast<rapidjson::SizeType>(b.size()));
      }
      w.EndArray();
      break;
  }
  w.EndObject();
}

void WriteItem(const Item& item, JsonWriter& w) {
  w.StartObject();
  for (const auto& [k, v] : item) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    WriteAttributeValue(v, w);
  }
  w.EndObject();
}

std::string AttributeValueToJson(const AttributeValue& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  WriteAttributeValue(v, w);
  return std::string(sb.GetString(), sb.GetSize());
}

std::string ItemToJson(const Item& item) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  WriteItem(item, w);
  return std::string(sb.GetString(), sb.GetSize());
}

namespace {
Result<rapidjson::Document> ParseText(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(),
                                                                                text.size());
  if (doc.HasParseError()) return Serialization("Malformed JSON");
  return doc;
}
}  // namespace

Result<Item> ParseItemJson(std::string_view text) {
  AMALGAM_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseText(text));
  return ParseItem(doc);
}

Result<AttributeValue> ParseAttributeValueJson(std::string_view text) {
  AMALGAM_ASSIGN_OR_RETURN(rapidjson::Document doc, ParseText(text));
  return ParseAttributeValue(doc);
}

}  // namespace amalgam::dynamo
