// DynamoService envelope and control-plane behaviour, without the network: the listener only
// frames HTTP, so these cases are what a client sees.
#include "api/dynamo/service.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "engine/engine.h"
#include "storage/test_dir.h"

namespace amalgam::api::dynamo {
namespace {

constexpr std::string_view kAuth =
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=abcdef";

class DynamoServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = engine::Engine::Open(dir_.path(), engine::EngineOptions{});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    service_ = std::make_unique<DynamoService>(*engine_, clock_, ServiceOptions{});
  }

  HttpResponseOut Call(std::string_view op, std::string_view body, std::string_view auth = kAuth,
                       std::string_view encoding = {}) {
    std::string target = "DynamoDB_20120810." + std::string(op);
    HttpRequestView req;
    req.method = "POST";
    req.path = "/";
    req.amz_target = target;
    req.content_type = "application/x-amz-json-1.0";
    req.content_encoding = encoding;
    req.authorization = auth;
    req.has_date = true;
    req.body = body;
    HttpResponseOut out;
    service_->Handle(req, &out);
    return out;
  }

  storage::TestDir dir_;
  ManualClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<DynamoService> service_;
};

TEST_F(DynamoServiceTest, EveryResponseCarriesTheCrc32OfItsBodyAndARequestId) {
  HttpResponseOut out = Call("ListTables", "{}");
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.body, "{\"TableNames\":[]}");
  EXPECT_EQ(out.crc32, crc32(0, reinterpret_cast<const Bytef*>(out.body.data()), out.body.size()));
  EXPECT_EQ(out.request_id.size(), 52u);
  HttpResponseOut bad = Call("NoSuchOp", "{}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.crc32, crc32(0, reinterpret_cast<const Bytef*>(bad.body.data()), bad.body.size()));
}

TEST_F(DynamoServiceTest, ProtocolErrorsUseDynamoDbTypes) {
  EXPECT_NE(Call("NoSuchOp", "{}").body.find("com.amazon.coral.service#UnknownOperationException"),
            std::string::npos);
  EXPECT_NE(Call("ListTables", "{\"Limit\":").body.find("com.amazon.coral.service#SerializationException"),
            std::string::npos);
  EXPECT_NE(Call("ListTables", "{}", "").body.find("MissingAuthenticationTokenException"), std::string::npos);
  HttpResponseOut incomplete = Call("ListTables", "{}", "AWS4-HMAC-SHA256 Credential=x");
  EXPECT_NE(incomplete.body.find("IncompleteSignatureException"), std::string::npos);
  EXPECT_NE(incomplete.body.find("requires 'Signature' parameter"), std::string::npos);
  HttpResponseOut type = Call("ListTables", "{\"Limit\":\"x\"}");
  EXPECT_EQ(type.status, 400);
  EXPECT_NE(type.body.find("STRING_VALUE cannot be converted to Long"), std::string::npos);
  HttpResponseOut deep = Call("ListTables", std::string(200, '[') + std::string(200, ']'));
  EXPECT_EQ(deep.status, 400);
}

TEST_F(DynamoServiceTest, AcceptsGzipBodies) {
  std::string body = "{\"Limit\": 5}";
  std::string gz(256, '\0');
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(body.data());
  zs.avail_in = body.size();
  zs.next_out = reinterpret_cast<Bytef*>(gz.data());
  zs.avail_out = gz.size();
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  EXPECT_EQ(Call("ListTables", gz, kAuth, "gzip").body, "{\"TableNames\":[]}");
  HttpResponseOut corrupt = Call("ListTables", "not gzip", kAuth, "gzip");
  EXPECT_EQ(corrupt.status, 400);
}

TEST_F(DynamoServiceTest, TableDescriptionSurvivesInCollectionOptions) {
  HttpResponseOut created = Call("CreateTable", R"({"TableName":"Tab1","BillingMode":"PAY_PER_REQUEST",
      "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
      "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}]})");
  ASSERT_EQ(created.status, 200) << created.body;
  catalog::CollectionPtr info = engine_->catalog().Find("dynamodb", "Tab1");
  ASSERT_NE(info, nullptr);
  EXPECT_FALSE(info->options.view().Get("dynamodb").missing());
  HttpResponseOut described = Call("DescribeTable", R"({"TableName":"Tab1"})");
  EXPECT_NE(described.body.find("\"KeyType\":\"RANGE\""), std::string::npos) << described.body;
  EXPECT_NE(described.body.find("\"BillingMode\":\"PAY_PER_REQUEST\""), std::string::npos);
  HttpResponseOut again = Call("CreateTable", R"({"TableName":"Tab1","BillingMode":"PAY_PER_REQUEST",
      "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
      "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}]})");
  EXPECT_NE(again.body.find("ResourceInUseException"), std::string::npos) << again.body;
}

}  // namespace
}  // namespace amalgam::api::dynamo
