// CollectionChangeIndex: one collection's entries of the shared log, whatever other collections
// write, from history (scan) and from the index (after the first read), across retention.
#include "engine/change_log_index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "bson/builder.h"
#include "engine/engine.h"
#include "storage/test_dir.h"

namespace amalgam::engine {
namespace {

class ChangeIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.store.clock = &clock_;
    auto e = Engine::Open(dir_.path(), o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  // Inserts `n` documents into db.<coll>, `per_txn` per transaction.
  void Write(const std::string& coll, int n, int per_txn = 1) {
    HandlePtr h = engine_->GetOrCreate("db", coll).value();
    for (int i = 0; i < n; i += per_txn) {
      auto r = engine_->RunWrite([&](WriteTxn& t) -> Status {
        for (int j = i; j < std::min(n, i + per_txn); ++j) {
          bson::Builder b;
          b.AppendString("_id", coll + std::to_string(next_++)).AppendString("pad", std::string(100, 'x'));
          bson::Document d = std::move(b).Finish();
          AMALGAM_RETURN_IF_ERROR(t.Insert(*h, d.view()));
        }
        return Status::OK();
      });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  uint64_t Cid(const std::string& coll) { return engine_->Find("db", coll)->info->id; }
  // Every entry of `coll` after `after`, read through the index the way a stream reader does.
  std::vector<uint64_t> ReadAll(const std::string& coll, uint64_t after, size_t limit = 7, size_t max_scan = 50) {
    std::vector<uint64_t> out;
    uint64_t visible = engine_->store().LastVisibleSeq();
    for (int i = 0; i < 100000 && after < visible; ++i) {
      uint64_t scanned = after;
      auto r = engine_->change_index().Read(Cid(coll), after, limit, &scanned, max_scan);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      for (const auto& e : *r) {
        EXPECT_EQ(e.record.collection_id, Cid(coll));
        EXPECT_GT(e.seq, after);
        out.push_back(e.seq);
      }
      EXPECT_GE(scanned, after);
      if (!r->empty()) EXPECT_LE(r->back().seq, scanned);
      after = scanned;
    }
    return out;
  }
  // The same by reading the whole log.
  std::vector<uint64_t> Expected(const std::string& coll, uint64_t after) {
    std::vector<uint64_t> out;
    std::vector<storage::ChangeEntry> all = engine_->ReadChanges(after, 1'000'000).value();
    for (const auto& e : all) {
      if (e.record.collection_id == Cid(coll)) out.push_back(e.seq);  // its catalog entries too
    }
    return out;
  }

  ManualClock clock_;
  storage::TestDir dir_;
  std::unique_ptr<Engine> engine_;
  int next_ = 0;
};

TEST_F(ChangeIndexTest, CollectionIdIsReadWithoutDecodingTheEntry) {
  Write("a", 1);
  auto all = engine_->ReadChanges(0, 100).value();
  ASSERT_FALSE(all.empty());
  std::string value = storage::EncodeChangeEntry(all.back());
  uint64_t cid = 0;
  ASSERT_TRUE(ChangeEntryCollectionId(value, &cid));
  EXPECT_EQ(cid, Cid("a"));
  EXPECT_FALSE(ChangeEntryCollectionId(value.substr(0, 10), &cid));
  EXPECT_FALSE(ChangeEntryCollectionId("", &cid));
}

TEST_F(ChangeIndexTest, HistoryThenIndexGiveExactlyTheCollectionsEntries) {
  Write("quiet", 3);
  Write("busy", 200, 7);
  Write("quiet", 2);
  // First read: history, scanned 50 log entries at a time.
  EXPECT_EQ(ReadAll("quiet", 0), Expected("quiet", 0));
  uint64_t history = engine_->change_index().history_entries();
  EXPECT_GT(history, 200u);
  // Later writes come from the index: the busy collection's entries are read once by the
  // catch-up, not again by each reader, and never in a history scan.
  uint64_t mark = engine_->store().LastVisibleSeq();
  Write("busy", 300, 10);
  Write("quiet", 4);
  Write("busy", 100);
  EXPECT_EQ(ReadAll("quiet", mark), Expected("quiet", mark));
  EXPECT_EQ(ReadAll("quiet", mark), Expected("quiet", mark));
  EXPECT_EQ(engine_->change_index().history_entries(), history);
  EXPECT_EQ(engine_->change_index().caught_up_entries(), engine_->store().LastVisibleSeq() - mark);
  EXPECT_EQ(ReadAll("quiet", 0), Expected("quiet", 0));  // history again, then the index
  // A second collection watched later: its history before that point is scanned.
  EXPECT_EQ(ReadAll("busy", 0, 1000, 100000), Expected("busy", 0));
  Write("busy", 5);
  EXPECT_EQ(ReadAll("busy", mark), Expected("busy", mark));
  EXPECT_EQ(ReadAll("quiet", 0, 1), Expected("quiet", 0));
}

TEST_F(ChangeIndexTest, ReadsPastRetentionAreHistoryLost) {
  Write("a", 5);
  Write("b", 5);
  EXPECT_EQ(ReadAll("a", 0).size(), 6u);  // create + 5 inserts
  Write("a", 3);
  uint64_t last = engine_->store().LastVisibleSeq();
  ASSERT_TRUE(engine_->store().TrimChangeLog(last - 2).ok());
  uint64_t scanned = 0;
  EXPECT_EQ(engine_->change_index().Read(Cid("a"), 0, 10, &scanned).status().code(), ErrorCode::kChangeStreamHistoryLost);
  auto kept = engine_->change_index().Read(Cid("a"), last - 2, 10, &scanned);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->size(), 2u);
  EXPECT_EQ(scanned, last);
}

// What a reader of a quiet collection pays per read while another collection is busy: the
// whole log before (Engine::ReadChanges), its own entries with the index.
TEST_F(ChangeIndexTest, AQuietReaderDoesNotPayForTheBusyLog) {
  Write("quiet", 1);
  (void)ReadAll("quiet", 0);  // watched from here on
  uint64_t mark = engine_->store().LastVisibleSeq();
  Write("busy", 20000, 500);
  Write("quiet", 1);
  auto t0 = std::chrono::steady_clock::now();
  size_t found = 0;
  uint64_t after = mark;
  for (int i = 0; i < 1000; ++i) {
    uint64_t scanned = after;
    auto r = engine_->ReadChanges(after, 1000, &scanned).value();
    for (const auto& e : r) found += e.record.collection_id == Cid("quiet");
    after = scanned;
    if (r.size() < 1000) break;
  }
  auto t1 = std::chrono::steady_clock::now();
  uint64_t scanned = 0;
  auto mine = engine_->change_index().Read(Cid("quiet"), mark, 1000, &scanned).value();  // catches up
  auto t2 = std::chrono::steady_clock::now();
  auto again = engine_->change_index().Read(Cid("quiet"), mark, 1000, &scanned).value();
  auto t3 = std::chrono::steady_clock::now();
  EXPECT_EQ(found, 1u);
  EXPECT_EQ(mine.size(), 1u);
  EXPECT_EQ(again.size(), 1u);
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::printf("20,000 other entries: full read %.2f ms, index catch-up %.2f ms, index read %.3f ms\n", ms(t0, t1),
              ms(t1, t2), ms(t2, t3));
  EXPECT_LT(ms(t2, t3), ms(t0, t1));
}

}  // namespace
}  // namespace amalgam::engine
