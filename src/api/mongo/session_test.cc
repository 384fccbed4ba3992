#include <gtest/gtest.h>

#include <string>

#include "api/mongo/service.h"
#include "api/mongo/session.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "storage/test_dir.h"

namespace amalgam::api::mongo {
namespace {

constexpr std::string_view kLsid = R"({"id": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}})";

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = engine::Engine::Open(dir_.path(), engine::EngineOptions{}).value();
    service_ = std::make_unique<MongoService>(*engine_, clock_, ServiceOptions{});
  }
  void TearDown() override {
    service_.reset();
    engine_.reset();
  }
  bson::Document Run(std::string_view json) {
    Request req;
    bson::Document body = bson::FromJson(json).value();
    req.body = body.view();
    return service_->RunCommand(conn_, req);
  }
  // `command` (a JSON object without its closing brace) in transaction `n` of kLsid.
  bson::Document InTxn(std::string command, int n, bool start = false) {
    command += R"(, "lsid": )" + std::string(kLsid) + R"(, "txnNumber": {"$numberLong": ")" + std::to_string(n) +
               R"("}, "autocommit": false)";
    if (start) command += R"(, "startTransaction": true)";
    return Run(command + "}");
  }
  std::vector<storage::ChangeEntry> Changes() { return engine_->ReadChanges(0, 100000).value(); }

  storage::TestDir dir_;
  ManualClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<MongoService> service_;
  ConnectionState conn_;
};

int32_t Code(const bson::Document& d) {
  bson::Value c = d.view().Get("code");
  return c.missing() ? 0 : c.AsInt32();
}

TEST_F(SessionTest, AbortedTransactionWritesNothingToTheChangeLog) {
  ASSERT_EQ(Code(Run(R"({"insert": "c", "documents": [{"_id": 1, "v": 0}], "$db": "t"})")), 0);
  size_t before = Changes().size();
  ASSERT_EQ(Code(InTxn(R"({"insert": "c", "documents": [{"_id": 2}, {"_id": 3}], "$db": "t")", 1, true)), 0);
  ASSERT_EQ(Code(InTxn(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 1}}}], "$db": "t")", 1)), 0);
  ASSERT_EQ(Code(InTxn(R"({"delete": "c", "deletes": [{"q": {"_id": 2}, "limit": 1}], "$db": "t")", 1)), 0);
  ASSERT_EQ(Code(InTxn(R"({"abortTransaction": 1, "$db": "admin")", 1)), 0);
  EXPECT_EQ(Changes().size(), before);
  // Nothing is pending either: the next commit's records follow directly.
  ASSERT_EQ(Code(Run(R"({"insert": "c", "documents": [{"_id": 4}], "$db": "t"})")), 0);
  std::vector<storage::ChangeEntry> after = Changes();
  ASSERT_EQ(after.size(), before + 1);
  EXPECT_EQ(after.back().seq, after[after.size() - 2].seq + 1);
}

TEST_F(SessionTest, CommittedTransactionIsOneCommitInTheChangeLog) {
  ASSERT_EQ(Code(Run(R"({"create": "a", "$db": "t"})")), 0);
  ASSERT_EQ(Code(Run(R"({"create": "b", "$db": "t"})")), 0);
  size_t before = Changes().size();
  ASSERT_EQ(Code(InTxn(R"({"insert": "a", "documents": [{"_id": 1}, {"_id": 2}], "$db": "t")", 3, true)), 0);
  ASSERT_EQ(Code(InTxn(R"({"insert": "b", "documents": [{"_id": 1}], "$db": "t")", 3)), 0);
  EXPECT_EQ(Changes().size(), before);  // nothing visible before the commit
  ASSERT_EQ(Code(InTxn(R"({"commitTransaction": 1, "$db": "admin")", 3)), 0);
  std::vector<storage::ChangeEntry> all = Changes();
  std::vector<storage::ChangeEntry> mine(all.end() - 3, all.end());
  for (const storage::ChangeEntry& e : mine) {
    EXPECT_EQ(e.commit_first_seq, mine[0].seq);
    EXPECT_EQ(e.commit_count, 3u);
  }
  EXPECT_EQ(mine[2].record.collection, "b");
  ASSERT_TRUE(mine[0].record.txn.has_value());
  EXPECT_EQ(mine[0].record.txn->view().Get("txnNumber").AsInt64(), 3);
  EXPECT_EQ(mine[0].record.txn->view().Get("lsid").type(), bson::BsonType::kDocument);
}

TEST_F(SessionTest, TransactionPastItsLifetimeIsAbortedAndItsLocksReleased) {
  ASSERT_EQ(Code(Run(R"({"insert": "c", "documents": [{"_id": 1, "v": 0}], "$db": "t"})")), 0);
  ASSERT_EQ(Code(InTxn(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 1}}}], "$db": "t")", 1,
                       true)),
            0);
  EXPECT_EQ(service_->sessions().open_transactions(), 1u);
  clock_.Advance(kTransactionLifetimeMillis + 1000);
  // Any command runs the reaper; the transaction's lock on _id 1 is gone.
  bson::Document plain = Run(R"({"update": "c", "updates": [{"q": {"_id": 1}, "u": {"$set": {"v": 2}}}], "$db": "t"})");
  EXPECT_EQ(Code(plain), 0);
  EXPECT_EQ(service_->sessions().open_transactions(), 0u);
  bson::Document commit = InTxn(R"({"commitTransaction": 1, "$db": "admin")", 1);
  EXPECT_EQ(Code(commit), 251);
}

TEST_F(SessionTest, IdleSessionsExpireAndTheirRecordsAreCollected) {
  std::string write = R"({"insert": "c", "documents": [{"_id": 1}], "$db": "t", "lsid": )" + std::string(kLsid) +
                      R"(, "txnNumber": {"$numberLong": "1"}})";
  ASSERT_EQ(Code(Run(write)), 0);
  EXPECT_EQ(service_->sessions().size(), 1u);
  EXPECT_TRUE(engine_->store().Get(storage::Cf::kMeta, "ls" + std::string(16, '\0')).value().has_value());
  clock_.Advance(kSessionTimeoutMillis + 61 * 1000);
  Run(R"({"ping": 1, "$db": "admin"})");
  EXPECT_EQ(service_->sessions().size(), 0u);
  EXPECT_FALSE(engine_->store().Get(storage::Cf::kMeta, "ls" + std::string(16, '\0')).value().has_value());
}

}  // namespace
}  // namespace amalgam::api::mongo
