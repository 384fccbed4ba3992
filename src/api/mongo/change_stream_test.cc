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


TEST_F(ChangeStreamTest, BusyStreamWaitsForTheNextTickBeforeReading) {
  conn_.can_await = true;
  int64_t id = Open();
  Run(R"({"insert": "c", "documents": [{"_id": 1}], "$db": "t"})");
  bson::Document r = Run(GetMore(id, 5000));  // not busy yet: answers at once
  ASSERT_FALSE(conn_.await.requested);
  ASSERT_EQ(BatchSize(r), 1u) << bson::ToJson(r.view());
  // Answered a moment ago: the next getMore waits for the tick (no commit can end that wait)
  // and then answers everything committed meanwhile in one batch.
  Run(R"({"insert": "c", "documents": [{"_id": 2}], "$db": "t"})");
  auto before = std::chrono::steady_clock::now();
  r = Run(GetMore(id, 5000));
  ASSERT_TRUE(conn_.await.requested);
  EXPECT_EQ(conn_.await.after_seq, UINT64_MAX);
  EXPECT_GT(conn_.await.deadline, before);
  EXPECT_LE(conn_.await.deadline, before + std::chrono::milliseconds(3));
  conn_.await.requested = false;
  Run(R"({"insert": "c", "documents": [{"_id": 3}], "$db": "t"})");
  conn_.await.rerun = true;
  r = Run(GetMore(id, 5000));
  conn_.await.rerun = false;
  EXPECT_FALSE(conn_.await.requested);
  EXPECT_EQ(BatchSize(r), 2u) << bson::ToJson(r.view());
}

TEST_F(ChangeStreamTest, TheTickGrowsWithTheNumberOfBusyStreams) {
  // Four streams that each answered a moment ago: the fourth to ask waits on a 4 ms grid
  // (1 ms per busy stream, at least 2 and at most 5), so busy streams together answer about
  // 1,000 batches a second. Being busy depends on the wall clock (answered within 5 ms), so a
  // stalled machine gets a few attempts.
  conn_.can_await = true;
  int64_t ids[4];
  for (int64_t& id : ids) id = Open();
  bool checked = false;
  for (int attempt = 0; attempt < 5 && !checked; ++attempt) {
    for (int64_t id : ids) {  // each stream answers one event at once (not busy before)
      Run(R"({"insert": "c", "documents": [{}], "$db": "t"})");
      conn_.await.requested = false;
      Run(GetMore(id, 5000));
      if (conn_.await.requested) {  // it was still busy from the last attempt: take its tick
        conn_.await.requested = false;
        conn_.await.rerun = true;
        Run(GetMore(id, 5000));
        conn_.await.rerun = false;
      }
    }
    std::chrono::steady_clock::time_point before, deadline;
    bool all_waited = true;
    for (int64_t id : ids) {
      before = std::chrono::steady_clock::now();
      Run(GetMore(id, 5000));
      all_waited = all_waited && conn_.await.requested;
      deadline = conn_.await.deadline;
      conn_.await.requested = false;
    }
    if (!all_waited || std::chrono::steady_clock::now() - before > std::chrono::milliseconds(2)) continue;
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(deadline.time_since_epoch()).count() % 4000, 0);
    EXPECT_GT(deadline, before);
    EXPECT_LE(deadline, before + std::chrono::milliseconds(4));
    checked = true;
    for (int64_t id : ids) {  // the reruns after the tick answer and leave the streams busy
      conn_.await.rerun = true;
      Run(GetMore(id, 5000));
      conn_.await.rerun = false;
    }
  }
  EXPECT_TRUE(checked) << "the streams never counted as busy together";
}

TEST_F(ChangeStreamTest, StreamsWithDifferentOptionsShareTheLogButShapeTheirOwnEvents) {
  auto open = [&](const std::string& target, const std::string& stage) {
    bson::Document r = Run(R"({"aggregate": )" + target + R"(, "pipeline": [{"$changeStream": )" + stage +
                           R"(}], "cursor": {}, "$db": "t"})");
    EXPECT_EQ(r.view().Get("ok").NumberAsDouble(), 1.0) << bson::ToJson(r.view());
    return r.view().Get("cursor").AsDocument().Get("id").AsInt64();
  };
  auto events = [&](int64_t id, const std::string& coll) {
    bson::Document r = Run(R"({"getMore": {"$numberLong": ")" + std::to_string(id) + R"("}, "collection": ")" +
                           coll + R"(", "maxTimeMS": 0, "$db": "t"})");
    return bson::Document(r.view().Get("cursor").AsDocument().Get("nextBatch").AsDocument());
  };
  Run(R"({"insert": "c", "documents": [{"_id": 0}], "$db": "t"})");
  int64_t plain = open(R"("c")", "{}");
  int64_t db_wide = open("1", "{}");
  int64_t lookup = open(R"("c")", R"({"fullDocument": "updateLookup", "showExpandedEvents": true})");
  Run(R"({"insert": "c", "documents": [{"_id": 1, "v": 1}], "$db": "t"})");
  Run(R"({"insert": "other", "documents": [{"_id": 9}], "$db": "t"})");
  Run(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 2}}}], "$db": "t"})");
  bson::Document a = events(plain, "c"), b = events(db_wide, "$cmd.aggregate"), c = events(lookup, "c");
  ASSERT_EQ(a.view().CountElements(), 2u) << bson::ToJson(a.view());
  ASSERT_EQ(b.view().CountElements(), 3u) << bson::ToJson(b.view());
  // The database stream shows the collection's events with the same bytes as the collection
  // stream (both plain), in log order around the other collection's insert.
  EXPECT_EQ(bson::ToJson(a.view().Get("0").AsDocument()), bson::ToJson(b.view().Get("0").AsDocument()));
  EXPECT_EQ(bson::ToJson(a.view().Get("1").AsDocument()), bson::ToJson(b.view().Get("2").AsDocument()));
  EXPECT_TRUE(a.view().Get("1").AsDocument().Get("fullDocument").missing());
  // The updateLookup stream adds the current document and the collection's UUID to its own
  // events (shaped for it, not taken from the shared plain event).
  ASSERT_EQ(c.view().CountElements(), 2u) << bson::ToJson(c.view());
  bson::DocView upd = c.view().Get("1").AsDocument();
  EXPECT_EQ(upd.Get("operationType").AsString(), "update");
  EXPECT_EQ(upd.Get("fullDocument").AsDocument().Get("v").NumberAsDouble(), 2.0);
  EXPECT_FALSE(upd.Get("collectionUUID").missing());
  EXPECT_TRUE(a.view().Get("1").AsDocument().Get("collectionUUID").missing());
}

TEST_F(ChangeStreamTest, ResumingBehindTheSharedTailReadsTheLog) {
  bson::Document first = Run(R"({"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "t"})");
  bson::Document token(first.view().Get("cursor").AsDocument().Get("postBatchResumeToken").AsDocument());
  for (int i = 0; i < 5; ++i) {
    Run(R"({"insert": "c", "documents": [{"_id": )" + std::to_string(i) + R"(}], "$db": "t"})");
  }
  int64_t live = Open();  // the tail now starts after the five inserts
  Run(R"({"insert": "c", "documents": [{"_id": 5}], "$db": "t"})");
  bson::Document r = Run(R"({"aggregate": "c", "pipeline": [{"$changeStream": {"resumeAfter": )" +
                         bson::ToJson(token.view()) + R"(}}], "cursor": {}, "$db": "t"})");
  bson::DocView batch = r.view().Get("cursor").AsDocument().Get("firstBatch").AsDocument();
  ASSERT_EQ(batch.CountElements(), 6u) << bson::ToJson(r.view());
  int i = 0;
  for (const bson::Element& e : batch) {
    EXPECT_EQ(e.value.AsDocument().Get("documentKey").AsDocument().Get("_id").NumberAsDouble(), i++);
  }
  EXPECT_EQ(BatchSize(Run(GetMore(live, 0))), 1u);
}

}  // namespace
}  // namespace amalgam::api::mongo
