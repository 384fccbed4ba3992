#include "bson/json.h"

#include <bson/bson.h>

#include "bson/builder.h"
#include "bson/validate.h"

#include <cstring>

namespace amalgam::bson {
namespace {

std::string Convert(DocView doc, bool canonical) {
  bson_t b;
  if (!bson_init_static(&b, doc.data(), doc.size())) return "<invalid bson>";
  size_t len = 0;
  char* s = canonical ? bson_as_canonical_extended_json(&b, &len) : bson_as_relaxed_extended_json(&b, &len);
  if (s == nullptr) return "<unprintable bson>";
  std::string out(s, len);
  bson_free(s);
  return out;
}

}  // namespace

std::string ToJson(DocView doc) { return Convert(doc, false); }
std::string ToCanonicalJson(DocView doc) { return Convert(doc, true); }

namespace {

void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendShell(std::string* out, const Value& v, int depth);

void AppendShellDoc(std::string* out, DocView doc, bool array, int depth) {
  if (doc.empty()) {
    *out += array ? "[]" : "{}";
    return;
  }
  *out += array ? "[ " : "{ ";
  bool first = true;
  for (const Element& e : doc) {
    if (!first) *out += ", ";
    first = false;
    if (!array) {
      *out += e.name;
      *out += ": ";
    }
    AppendShell(out, e.value, depth + 1);
  }
  *out += array ? " ]" : " }";
}

void AppendShell(std::string* out, const Value& v, int depth) {
  char buf[64];
  switch (v.type()) {
    case BsonType::kDouble: {
      double d = v.AsDouble();
      // Range first: converting an out-of-range double to an integer is undefined (found by
      // fuzz/query_languages_fuzz.cc).
      if (d > -1e15 && d < 1e15 && d == static_cast<double>(static_cast<int64_t>(d))) {
        std::snprintf(buf, sizeof(buf), "%.1f", d);
      } else {
        std::snprintf(buf, sizeof(buf), "%.17g", d);
      }
      *out += buf;
      return;
    }
    case BsonType::kInt32: *out += std::to_string(v.AsInt32()); return;
    case BsonType::kInt64: *out += std::to_string(v.AsInt64()); return;
    case BsonType::kString:
    case BsonType::kSymbol: AppendQuoted(out, v.AsString()); return;
    case BsonType::kBool: *out += v.AsBool() ? "true" : "false"; return;
    case BsonType::kNull: *out += "null"; return;
    case BsonType::kUndefined: *out += "undefined"; return;
    case BsonType::kMinKey: *out += "MinKey"; return;
    case BsonType::kMaxKey: *out += "MaxKey"; return;
    case BsonType::kObjectId: {
      *out += "ObjectId('";
      for (uint8_t b : v.AsObjectId()) {
        std::snprintf(buf, sizeof(buf), "%02x", b);
        *out += buf;
      }
      *out += "')";
      return;
    }
    case BsonType::kDate: *out += "new Date(" + std::to_string(v.AsDateMillis()) + ")"; return;
    case BsonType::kDocument:
    case BsonType::kArray:
      if (depth > 50) {
        *out += "...";
        return;
      }
      AppendShellDoc(out, v.AsDocument(), v.type() == BsonType::kArray, depth);
      return;
    default: {
      Builder b;
      b.AppendValue("v", v);
      Document d = std::move(b).Finish();
      std::string j = ToJson(d.view());  // { "v" : ... }
      size_t colon = j.find(':');
      *out += colon == std::string::npos ? j : j.substr(colon + 2, j.size() - colon - 4);
    }
  }
}

}  // namespace

std::string ToShellString(DocView doc) {
  std::string out;
  AppendShellDoc(&out, doc, false, 0);
  return out;
}

std::array<uint8_t, 12> NewObjectId() {
  bson_oid_t oid;
  bson_oid_init(&oid, nullptr);
  std::array<uint8_t, 12> out;
  std::memcpy(out.data(), oid.bytes, 12);
  return out;
}

Result<Document> FromJson(std::string_view json) {
  bson_error_t error;
  bson_t* b = bson_new_from_json(reinterpret_cast<const uint8_t*>(json.data()),
                                 static_cast<ssize_t>(json.size()), &error);
  if (b == nullptr) return Status(ErrorCode::kFailedToParse, std::string("invalid JSON: ") + error.message);
  std::string bytes(reinterpret_cast<const char*>(bson_get_data(b)), b->len);
  bson_destroy(b);
  // libbson 1.23 has produced malformed documents from some Extended JSON (code values in
  // arrays): validate rather than trust it.
  auto valid = ValidateDocument(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!valid.ok()) return Status(ErrorCode::kFailedToParse, "invalid JSON: " + std::string(valid.status().message()));
  return Document::FromValidatedBytes(std::move(bytes));
}

}  // namespace amalgam::bson
