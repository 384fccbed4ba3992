#include "engine/ttl_monitor.h"

#include <gtest/gtest.h>

#include <thread>

#include "bson/builder.h"
#include "bson/json.h"
#include "engine/change_notifier.h"
#include "engine/engine.h"
#include "storage/test_dir.h"

namespace amalgam::engine {
namespace {

bson::Document J(std::string_view json) { return bson::FromJson(json).value(); }

class TtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.store.clock = &clock_;
    auto e = Engine::Open(dir_.path(), o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  void Insert(const bson::Document& d) {
    HandlePtr h = engine_->GetOrCreate("db", "c").value();
    ASSERT_TRUE(engine_->RunWrite([&](WriteTxn& t) { return t.Insert(*h, d.view()); }).ok());
  }
  // {_id: id, at: now + offset_ms}
  bson::Document At(int id, int64_t offset_ms) {
    bson::Builder b;
    b.AppendInt32("_id", id).AppendDate("at", clock_.NowMillis() + offset_ms);
    return std::move(b).Finish();
  }
  std::vector<int> Ids() {
    std::vector<int> out;
    auto cursor = engine_->Read()->Scan(*engine_->Find("db", "c"));
    bson::DocView d;
    while (cursor->Next(&d)) out.push_back(d.Get("_id").AsInt32());
    return out;
  }
  uint64_t Run(TtlMonitor& m) {
    auto r = m.RunOnce();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }

  ManualClock clock_;
  storage::TestDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(TtlTest, IndexRuleDeletesDocumentsPastExpiryIncludingArraysByEarliestDate) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 60})").view()).ok());
  Insert(At(1, -120'000));  // expired a minute ago
  Insert(At(2, 0));         // expires in a minute
  Insert(J(R"({"_id": 3, "at": "not a date"})"));
  bson::Builder arr;
  arr.AppendInt32("_id", 4).StartArray("at");
  arr.AppendDate("0", clock_.NowMillis() + 3'600'000).AppendDate("1", clock_.NowMillis() - 3'600'000);
  arr.EndArray();
  Insert(std::move(arr).Finish());  // earliest date an hour ago: expired
  Insert(J(R"({"_id": 5})"));
  TtlMonitor m(*engine_, clock_, TtlOptions{});
  EXPECT_EQ(Run(m), 2u);
  EXPECT_EQ(Ids(), (std::vector<int>{2, 3, 5}));
  clock_.Advance(61'000);
  EXPECT_EQ(Run(m), 1u);
  EXPECT_EQ(Ids(), (std::vector<int>{3, 5}));
  auto report = engine_->Validate("db", "c");
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->valid);
}

TEST_F(TtlTest, DescendingAndPartialIndexesExpireOnlyWhatTheyHold) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c",
                                   J(R"({"key": {"at": -1}, "name": "at_-1", "expireAfterSeconds": 0,
                                         "partialFilterExpression": {"tmp": true}})")
                                       .view())
                  .ok());
  bson::Builder a;
  a.AppendInt32("_id", 1).AppendDate("at", clock_.NowMillis() - 1000).AppendBool("tmp", true);
  Insert(std::move(a).Finish());
  bson::Builder b;
  b.AppendInt32("_id", 2).AppendDate("at", clock_.NowMillis() - 1000).AppendBool("tmp", false);
  Insert(std::move(b).Finish());
  bson::Builder c;
  c.AppendInt32("_id", 3).AppendDate("at", clock_.NowMillis() + 1000).AppendBool("tmp", true);
  Insert(std::move(c).Finish());
  TtlMonitor m(*engine_, clock_, TtlOptions{});
  EXPECT_EQ(Run(m), 1u);
  EXPECT_EQ(Ids(), (std::vector<int>{2, 3}));
}

TEST_F(TtlTest, DeletesAreBatchedAndLoggedAsServerChanges) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 0})").view()).ok());
  for (int i = 0; i < 250; ++i) Insert(At(i, -1000));
  uint64_t before = engine_->store().LastVisibleSeq();
  TtlOptions o;
  o.batch_size = 100;
  o.throttle_ratio = 0;
  TtlMonitor m(*engine_, clock_, o);
  EXPECT_EQ(Run(m), 250u);
  EXPECT_TRUE(Ids().empty());
  auto changes = engine_->ReadChanges(before, 1000).value();
  ASSERT_EQ(changes.size(), 250u);
  std::set<uint64_t> commits;
  for (const auto& e : changes) {
    EXPECT_EQ(e.record.op, storage::ChangeOp::kDelete);
    EXPECT_TRUE(e.record.by_server);
    commits.insert(e.commit_first_seq);
  }
  EXPECT_EQ(commits.size(), 3u);  // 100 + 100 + 50
}

TEST_F(TtlTest, AttributeRuleFromAProviderUsesEpochSeconds) {
  Insert(J(R"({"_id": 1, "ttl": 1000})"));  // 1970: long expired
  bson::Builder b;
  b.AppendInt32("_id", 2).AppendInt64("ttl", clock_.NowMillis() / 1000 + 3600);
  Insert(std::move(b).Finish());
  Insert(J(R"({"_id": 3})"));
  TtlMonitor m(*engine_, clock_, TtlOptions{});
  m.AddRuleProvider([](const catalog::CollectionInfo& info) {
    std::vector<TtlRule> rules;
    if (info.name != "c") return rules;
    TtlRule r;
    r.kind = TtlRule::Kind::kAttribute;
    r.name = "ttl";
    r.expiry_millis = [](bson::DocView d) -> std::optional<int64_t> {
      bson::Value v = d.Get("ttl");
      if (!v.IsNumber()) return std::nullopt;
      return static_cast<int64_t>(v.NumberAsDouble() * 1000);
    };
    rules.push_back(std::move(r));
    return rules;
  });
  EXPECT_EQ(Run(m), 1u);
  EXPECT_EQ(Ids(), (std::vector<int>{2, 3}));
  clock_.Advance(3'601'000);
  EXPECT_EQ(Run(m), 1u);
  EXPECT_EQ(Ids(), (std::vector<int>{3}));
}

TEST_F(TtlTest, AttributeScanBoundedPerPassGoesOnWhereThePreviousPassStopped) {
  for (int i = 1; i <= 10; ++i) {
    bson::Builder b;
    b.AppendInt32("_id", i).AppendInt64("ttl", i > 6 ? 1000 : clock_.NowMillis() / 1000 + 3600);
    Insert(std::move(b).Finish());
  }
  TtlOptions o;
  o.max_scan_per_pass = 3;
  TtlMonitor m(*engine_, clock_, o);
  m.AddRuleProvider([](const catalog::CollectionInfo& info) {
    std::vector<TtlRule> rules;
    TtlRule r;
    r.kind = TtlRule::Kind::kAttribute;
    r.name = "ttl";
    r.expiry_millis = [](bson::DocView d) -> std::optional<int64_t> {
      bson::Value v = d.Get("ttl");
      if (!v.IsNumber()) return std::nullopt;
      return static_cast<int64_t>(v.NumberAsDouble() * 1000);
    };
    if (info.name == "c") rules.push_back(std::move(r));
    return rules;
  });
  EXPECT_EQ(Run(m), 0u);  // 1-3
  EXPECT_EQ(Run(m), 0u);  // 4-6
  EXPECT_EQ(Run(m), 3u);  // 7-9
  EXPECT_EQ(Run(m), 1u);  // 10, the end
  EXPECT_EQ(Ids(), (std::vector<int>{1, 2, 3, 4, 5, 6}));
  bson::Builder b;
  b.AppendInt32("_id", 0).AppendInt64("ttl", 1000);
  Insert(std::move(b).Finish());
  EXPECT_EQ(Run(m), 1u);  // from the beginning again
  EXPECT_EQ(Ids(), (std::vector<int>{1, 2, 3, 4, 5, 6}));
}

TEST_F(TtlTest, BackgroundThreadExpiresWithinTheInterval) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 0})").view()).ok());
  Insert(At(1, -1));
  TtlOptions o;
  o.interval_millis = 5;
  TtlMonitor m(*engine_, clock_, o);
  m.Start();
  for (int i = 0; i < 400 && !Ids().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  m.Stop();
  EXPECT_TRUE(Ids().empty());
}

TEST_F(TtlTest, ReadChangesReportsHowFarItReadAndHistoryLostPastRetention) {
  for (int i = 0; i < 5; ++i) Insert(At(i, 0));
  uint64_t last = engine_->store().LastVisibleSeq();
  uint64_t scanned = 0;
  auto some = engine_->ReadChanges(0, 2, &scanned);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->size(), 2u);
  EXPECT_EQ(scanned, some->back().seq);
  auto all = engine_->ReadChanges(0, 1000, &scanned);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(scanned, last);  // fewer than the limit: read through the watermark
  ASSERT_TRUE(engine_->store().TrimChangeLog(last - 2).ok());
  EXPECT_EQ(engine_->ReadChanges(last - 3, 10).status().code(), ErrorCode::kChangeStreamHistoryLost);
  auto kept = engine_->ReadChanges(last - 2, 10);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->size(), 2u);
}

TEST(ChangeNotifierTest, CallsBackOnCommitOrAtOnceWhenAlreadyPast) {
  storage::TestDir dir;
  auto e = Engine::Open(dir.path(), EngineOptions{});
  ASSERT_TRUE(e.ok());
  auto engine = std::move(e).value();
  ChangeNotifier n(engine->store());
  std::atomic<int> fired{0};
  uint64_t seq = engine->store().LastVisibleSeq();
  n.Add(seq, [&] { fired++; });
  uint64_t cancelled = n.Add(seq, [&] { fired += 100; });
  EXPECT_TRUE(n.Cancel(cancelled));
  EXPECT_EQ(fired.load(), 0);
  HandlePtr h = engine->GetOrCreate("db", "c").value();  // the create commits a change record
  for (int i = 0; i < 400 && fired.load() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(fired.load(), 1);
  n.Add(seq, [&] { fired++; });  // already past: inline
  EXPECT_EQ(fired.load(), 2);
  // A waiter that can never be passed, alone, then one added after it: the commit serves the
  // second (the thread waits for new waiters rather than in the store for the first).
  n.Add(UINT64_MAX, [&] { fired += 10; });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  n.Add(engine->store().LastVisibleSeq(), [&] { fired += 100; });
  ASSERT_TRUE(engine->GetOrCreate("db", "d").ok());
  for (int i = 0; i < 400 && fired.load() < 100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(fired.load(), 102);
  n.Add(engine->store().LastVisibleSeq(), [&] { fired++; });
  n.Stop();  // pending callbacks run at Stop
  EXPECT_EQ(fired.load(), 113);
}

}  // namespace
}  // namespace amalgam::engine
