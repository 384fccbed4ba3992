#include <gtest/gtest.h>

#include "api/mongo/service.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "storage/test_dir.h"

namespace amalgam::api::mongo {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = engine::Engine::Open(dir_.path(), engine::EngineOptions{}).value();
    service_ = std::make_unique<MongoService>(*engine_, clock_, ServiceOptions{});
  }
  // Runs a command given as JSON and returns the reply as relaxed JSON-parsed document.
  bson::Document Run(std::string_view json) {
    Request req;
    bson::Document body = bson::FromJson(json).value();
    req.body = body.view();
    return service_->RunCommand(conn_, req);
  }
  storage::TestDir dir_;
  ManualClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<MongoService> service_;
  ConnectionState conn_;
};

double Ok(const bson::Document& d) { return d.view().Get("ok").NumberAsDouble(); }

TEST_F(ServiceTest, HelloDescribesASingleMemberReplicaSetPrimary) {
  bson::Document r = Run(R"({"hello": 1, "$db": "admin"})");
  EXPECT_EQ(Ok(r), 1.0);
  EXPECT_TRUE(r.view().Get("isWritablePrimary").AsBool());
  EXPECT_EQ(r.view().Get("maxWireVersion").AsInt32(), 21);
  EXPECT_EQ(r.view().Get("minWireVersion").AsInt32(), 0);
  EXPECT_EQ(r.view().Get("logicalSessionTimeoutMinutes").AsInt32(), 30);
  EXPECT_EQ(r.view().Get("setName").AsString(), "amalgam");
  EXPECT_FALSE(r.view().Get("$clusterTime").missing());
  bson::Document legacy = Run(R"({"isMaster": 1, "$db": "admin"})");
  EXPECT_TRUE(legacy.view().Get("ismaster").AsBool());
}

TEST_F(ServiceTest, ErrorsCarryCodeAndCodeName) {
  bson::Document r = Run(R"({"frobnicate": 1, "$db": "admin"})");
  EXPECT_EQ(Ok(r), 0.0);
  EXPECT_EQ(r.view().Get("code").AsInt32(), 59);
  EXPECT_EQ(r.view().Get("codeName").AsString(), "CommandNotFound");
  EXPECT_EQ(r.view().Get("errmsg").AsString(), "no such command: 'frobnicate'");
  bson::Document no_db = Run(R"({"ping": 1})");
  EXPECT_EQ(no_db.view().Get("code").AsInt32(), 40571);
}

TEST_F(ServiceTest, InsertReportsDuplicateKeysAsWriteErrors) {
  bson::Document r = Run(R"({"insert": "c", "documents": [{"_id": 1}, {"_id": 1}, {"_id": 2}], "ordered": false, "$db": "t"})");
  EXPECT_EQ(Ok(r), 1.0) << bson::ToJson(r.view());
  EXPECT_EQ(r.view().Get("n").AsInt32(), 2);
  bson::DocView errors = r.view().Get("writeErrors").AsDocument();
  ASSERT_EQ(errors.CountElements(), 1u);
  EXPECT_EQ(errors.begin()->value.AsDocument().Get("index").AsInt32(), 1);
  EXPECT_EQ(errors.begin()->value.AsDocument().Get("code").AsInt32(), 11000);
  bson::Document ordered = Run(R"({"insert": "c", "documents": [{"_id": 3}, {"_id": 1}, {"_id": 4}], "$db": "t"})");
  EXPECT_EQ(ordered.view().Get("n").AsInt32(), 1);  // stops at the first error
  bson::Document v = Run(R"({"validate": "c", "$db": "t"})");
  EXPECT_TRUE(v.view().Get("valid").AsBool());
  EXPECT_EQ(v.view().Get("nrecords").AsInt64(), 3);
}

TEST_F(ServiceTest, InsertGeneratesObjectIdsFirst) {
  Run(R"({"insert": "c", "documents": [{"a": 1, "b": 2}], "$db": "t"})");
  auto view = engine_->Read();
  auto cursor = view->Scan(*engine_->Find("t", "c"));
  bson::DocView doc;
  ASSERT_TRUE(cursor->Next(&doc));
  EXPECT_EQ(doc.begin()->name, "_id");
  EXPECT_EQ(doc.begin()->value.type(), bson::BsonType::kObjectId);
}

TEST_F(ServiceTest, IndexCommandsRoundTrip) {
  bson::Document c = Run(R"({"createIndexes": "c", "indexes": [{"key": {"a": 1}, "name": "a_1", "unique": true}], "$db": "t"})");
  EXPECT_EQ(Ok(c), 1.0) << bson::ToJson(c.view());
  EXPECT_EQ(c.view().Get("numIndexesAfter").AsInt32(), 2);
  EXPECT_TRUE(c.view().Get("createdCollectionAutomatically").AsBool());
  bson::Document l = Run(R"({"listIndexes": "c", "$db": "t"})");
  EXPECT_EQ(l.view().Get("cursor").AsDocument().Get("firstBatch").AsDocument().CountElements(), 2u);
  bson::Document bad = Run(R"({"createIndexes": "c", "indexes": [{"key": {"a": "text"}, "name": "t"}], "$db": "t"})");
  EXPECT_EQ(bad.view().Get("code").AsInt32(), 67);
  bson::Document d = Run(R"({"dropIndexes": "c", "index": "*", "$db": "t"})");
  EXPECT_EQ(d.view().Get("nIndexesWas").AsInt32(), 2);
  bson::Document miss = Run(R"({"listIndexes": "nope", "$db": "t"})");
  EXPECT_EQ(miss.view().Get("code").AsInt32(), 26);
}

TEST_F(ServiceTest, CollectionsListRenameAndDrop) {
  Run(R"({"create": "a", "$db": "t"})");
  EXPECT_EQ(Run(R"({"create": "a", "$db": "t"})").view().Get("code").AsInt32(), 48);
  bson::Document r = Run(R"({"renameCollection": "t.a", "to": "t.b", "$db": "admin"})");
  EXPECT_EQ(Ok(r), 1.0) << bson::ToJson(r.view());
  bson::Document l = Run(R"({"listCollections": 1, "nameOnly": true, "$db": "t"})");
  bson::DocView batch = l.view().Get("cursor").AsDocument().Get("firstBatch").AsDocument();
  ASSERT_EQ(batch.CountElements(), 1u);
  EXPECT_EQ(batch.begin()->value.AsDocument().Get("name").AsString(), "b");
  EXPECT_EQ(Ok(Run(R"({"drop": "b", "$db": "t"})")), 1.0);
  EXPECT_EQ(Ok(Run(R"({"drop": "b", "$db": "t"})")), 1.0);
  bson::Document dbs = Run(R"({"listDatabases": 1, "$db": "admin"})");
  EXPECT_EQ(dbs.view().Get("databases").AsDocument().CountElements(), 0u);
}

}  // namespace
}  // namespace amalgam::api::mongo
