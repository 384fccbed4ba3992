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
