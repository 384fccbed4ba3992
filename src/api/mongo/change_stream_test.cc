// Change streams through MongoService::RunCommand: the paths the integration tests cannot reach
// (a caller that does not honour AwaitRequest, the await handshake itself).
#include <gtest/gtest.h>

#include <thread>

#include "api/mongo/service.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "storage/test_dir.h"

namespace amalgam::api::mongo {
namespace {

class ChangeStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = engine::Engine::Open(dir_.path(), engine::EngineOptions{}).value();
    service_ = std::make_unique<MongoService>(*engine_, clock_, ServiceOptions{});
  }
  bson::Document Run(const std::string& json) {
    Request req;
    bson::Document body = bson::FromJson(json).value();
    req.body = body.view();
    return service_->RunCommand(conn_, req);
  }
  // Opens a stream on t.c; returns the cursor id.
  int64_t Open() {
    bson::Document r = Run(R"({"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "t"})");
    EXPECT_EQ(r.view().Get("ok").NumberAsDouble(), 1.0) << bson::ToJson(r.view());
    return r.view().Get("cursor").AsDocument().Get("id").AsInt64();
  }
  std::string GetMore(int64_t id, int max_ms) {
    return R"({"getMore": {"$numberLong": ")" + std::to_string(id) + R"("}, "collection": "c", "maxTimeMS": )" +
           std::to_string(max_ms) + R"(, "$db": "t"})";
  }
  static size_t BatchSize(const bson::Document& r) {
    return r.view().Get("cursor").AsDocument().Get("nextBatch").AsDocument().CountElements();
  }

  storage::TestDir dir_;
  ManualClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<MongoService> service_;
  ConnectionState conn_;
};

TEST_F(ChangeStreamTest, WithoutAwaitSupportGetMoreBlocksUntilACommitOrTheDeadline) {
  int64_t id = Open();
  auto t0 = std::chrono::steady_clock::now();
  bson::Document empty = Run(GetMore(id, 100));
  EXPECT_EQ(BatchSize(empty), 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(90));
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ConnectionState other;
    Request req;
    bson::Document body = bson::FromJson(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "t"})").value();
    req.body = body.view();
    service_->RunCommand(other, req);
  });
  t0 = std::chrono::steady_clock::now();
  bson::Document r = Run(GetMore(id, 5000));
  writer.join();
  EXPECT_EQ(BatchSize(r), 1u) << bson::ToJson(r.view());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(ChangeStreamTest, WithAwaitSupportGetMoreAsksToBeRunAgain) {
  conn_.can_await = true;
  int64_t id = Open();
  bson::Document r = Run(GetMore(id, 5000));
  ASSERT_TRUE(conn_.await.requested);  // nothing yet: run me again after a commit
  uint64_t after = conn_.await.after_seq;
  EXPECT_EQ(after, engine_->store().LastVisibleSeq());
  conn_.await.requested = false;
  Run(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "t"})");
  EXPECT_GT(engine_->store().LastVisibleSeq(), after);
  conn_.await.rerun = true;
  r = Run(GetMore(id, 5000));
  conn_.await.rerun = false;
  EXPECT_FALSE(conn_.await.requested);
  EXPECT_EQ(BatchSize(r), 1u) << bson::ToJson(r.view());
  EXPECT_FALSE(r.view().Get("cursor").AsDocument().Get("postBatchResumeToken").missing());
}

}  // namespace
}  // namespace amalgam::api::mongo
