#include <gtest/gtest.h>

#include <cstring>

#include "api/mongo/wire.h"
#include "bson/json.h"

namespace amalgam::api::mongo {
namespace {

void PutI32(std::string* s, int32_t v) { s->append(reinterpret_cast<const char*>(&v), 4); }

// Builds an OP_MSG with a body and optional kind-1 sequence; patches the length.
std::string OpMsg(std::string_view body_json, uint32_t flags = 0, std::string_view seq_id = "",
                  std::vector<std::string> seq_docs = {}) {
  std::string m;
  PutI32(&m, 0);
  PutI32(&m, 7);
  PutI32(&m, 0);
  PutI32(&m, kOpMsg);
  PutI32(&m, static_cast<int32_t>(flags));
  m.push_back(0);
  m += bson::FromJson(body_json).value().bytes();
  if (!seq_id.empty()) {
    std::string seq(seq_id);
    seq.push_back('\0');
    for (const auto& d : seq_docs) seq += bson::FromJson(d).value().bytes();
    m.push_back(1);
    PutI32(&m, static_cast<int32_t>(seq.size() + 4));
    m += seq;
  }
  if (flags & kChecksumPresent) PutI32(&m, 0);
  int32_t len = static_cast<int32_t>(m.size());
  std::memcpy(m.data(), &len, 4);
  if (flags & kChecksumPresent) {
    uint32_t crc = Crc32c(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(m.data()), m.size() - 4));
    std::memcpy(m.data() + m.size() - 4, &crc, 4);
  }
  return m;
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(WireTest, ParsesBodyAndDocumentSequences) {
  std::string m = OpMsg(R"({"insert": "c", "$db": "test"})", 0, "documents", {R"({"a": 1})", R"({"a": 2})"});
  auto r = ParseRequest(Bytes(m));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->header.request_id, 7);
  EXPECT_EQ(r->body.Get("insert").AsString(), "c");
  ASSERT_EQ(r->sequences.size(), 1u);
  EXPECT_EQ(r->sequences[0].identifier, "documents");
  EXPECT_EQ(r->sequences[0].documents.size(), 2u);
}

TEST(WireTest, VerifiesChecksumsWhenPresent) {
  std::string m = OpMsg(R"({"ping": 1, "$db": "admin"})", kChecksumPresent);
  EXPECT_TRUE(ParseRequest(Bytes(m)).ok());
  m[m.size() - 1] ^= 1;
  EXPECT_FALSE(ParseRequest(Bytes(m)).ok());
  // CRC-32C of "123456789" is the standard check value.
  std::string check = "123456789";
  EXPECT_EQ(Crc32c(Bytes(check)), 0xE3069283u);
}

TEST(WireTest, RejectsMalformedFramesWithoutCrashing) {
  std::string good = OpMsg(R"({"ping": 1, "$db": "admin"})", 0, "documents", {R"({"a": 1})"});
  size_t body_end = 21 + bson::FromJson(R"({"ping": 1, "$db": "admin"})").value().bytes().size();
  for (size_t n = 0; n < good.size(); ++n) {
    if (n == body_end) continue;  // a complete message without the sequence section
    std::string cut = good.substr(0, n);
    if (n >= 4) {
      int32_t len = static_cast<int32_t>(n);
      std::memcpy(cut.data(), &len, 4);
    }
    EXPECT_FALSE(ParseRequest(Bytes(cut)).ok()) << n;
  }
  std::string bad_kind = good;
  bad_kind[20] = 9;
  EXPECT_FALSE(ParseRequest(Bytes(bad_kind)).ok());
  std::string unknown_flag = OpMsg(R"({"ping": 1})", 1u << 5);
  EXPECT_FALSE(ParseRequest(Bytes(unknown_flag)).ok());
  std::string optional_flag = OpMsg(R"({"ping": 1})", kExhaustAllowed);
  EXPECT_TRUE(ParseRequest(Bytes(optional_flag)).ok());
  std::string huge = good;
  int32_t len = kMaxMessageSize + 1;
  std::memcpy(huge.data(), &len, 4);
  EXPECT_EQ(ParseRequest(Bytes(huge)).status().code(), ErrorCode::kInvalidLength);
}

TEST(WireTest, ParsesLegacyOpQueryHandshakeAndUnwrapsQuery) {
  std::string m;
  PutI32(&m, 0);
  PutI32(&m, 3);
  PutI32(&m, 0);
  PutI32(&m, kOpQuery);
  PutI32(&m, 0);
  m += "admin.$cmd";
  m.push_back(0);
  PutI32(&m, 0);
  PutI32(&m, -1);
  m += bson::FromJson(R"({"$query": {"isMaster": 1}, "$readPreference": {"mode": "primary"}})").value().bytes();
  int32_t len = static_cast<int32_t>(m.size());
  std::memcpy(m.data(), &len, 4);
  auto r = ParseRequest(Bytes(m));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->legacy);
  EXPECT_EQ(r->legacy_namespace, "admin.$cmd");
  EXPECT_EQ(r->body.begin()->name, "isMaster");
}

}  // namespace
}  // namespace amalgam::api::mongo
