// libFuzzer target: MongoDB wire-message parsing (header, OP_MSG sections and checksums,
// OP_QUERY). The length field is patched to the input size half of the time so the fuzzer
// reaches the section parser. Whatever parses must be safe to walk.
//
// fuzz-sources: src/common/*.cc src/bson/*.cc src/api/mongo/wire.cc
// fuzz-pkgs: libbson-1.0

#include <cstdint>
#include <cstring>
#include <vector>

#include "api/mongo/wire.h"
#include "bson/compare.h"

namespace {

void Walk(amalgam::bson::DocView doc, int depth) {
  for (const amalgam::bson::Element& e : doc) {
    (void)amalgam::bson::CompareValues(e.value, e.value);
    if (depth < 8 && (e.value.type() == amalgam::bson::BsonType::kDocument ||
                      e.value.type() == amalgam::bson::BsonType::kArray)) {
      Walk(e.value.AsDocument(), depth + 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> msg(data, data + size);
  if (msg.size() >= 4 && (msg.size() & 1)) {
    int32_t len = static_cast<int32_t>(msg.size());
    std::memcpy(msg.data(), &len, 4);
  }
  auto req = amalgam::api::mongo::ParseRequest(msg);
  if (req.ok()) {
    Walk(req->body, 0);
    for (const auto& seq : req->sequences) {
      for (const auto& d : seq.documents) Walk(d, 0);
    }
  }
  return 0;
}
