#include "storage/change_log_retention.h"

#include <gtest/gtest.h>

#include <thread>

#include "storage/key_codec.h"
#include "storage/test_dir.h"
#include "storage/txn.h"

namespace amalgam::storage {
namespace {

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    StoreOptions o;
    o.clock = &clock_;
    auto r = Store::Open(dir_.path(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store_ = std::move(r).value();
  }
  // One commit of `n` change records; returns its first seq.
  uint64_t Commit(int n) {
    auto t = store_->Begin(TxnOptions{});
    for (int i = 0; i < n; ++i) {
      ChangeRecord r;
      r.db = "d";
      r.collection = "c";
      t->AddChange(std::move(r));
    }
    auto info = t->Commit();
    EXPECT_TRUE(info.ok());
    return info->first_seq;
  }
  std::vector<uint64_t> Seqs() {
    std::vector<uint64_t> out;
    auto it = store_->NewIterator(Cf::kChangeLog, "", "");
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.push_back(ReadUint64BE(it->key()));
    return out;
  }

  ManualClock clock_;
  TestDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(RetentionTest, TrimsWholeCommitsOlderThanTheWindowAndKeepsTheRest) {
  Commit(2);  // 1, 2
  Commit(1);  // 3
  clock_.Advance(2 * 3600 * 1000);
  Commit(2);  // 4, 5
  RetentionOptions o;
  o.retention_millis = 3600 * 1000;
  ChangeLogRetention retention(*store_, clock_, o);
  auto r = retention.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 3u);
  EXPECT_EQ(store_->ChangeLogTrimmedThrough(), 3u);
  EXPECT_EQ(Seqs(), (std::vector<uint64_t>{4, 5}));
  // Nothing newly old: a second pass changes nothing.
  EXPECT_EQ(*retention.RunOnce(), 3u);
}

TEST_F(RetentionTest, MarkSurvivesRestartAndNumberingNeverRestartsBelowIt) {
  Commit(3);
  clock_.Advance(10'000);
  RetentionOptions o;
  o.retention_millis = 1000;
  {
    ChangeLogRetention retention(*store_, clock_, o);
    ASSERT_EQ(*retention.RunOnce(), 3u);
  }
  EXPECT_TRUE(Seqs().empty());
  Reopen();
  EXPECT_EQ(store_->ChangeLogTrimmedThrough(), 3u);
  EXPECT_EQ(store_->LastVisibleSeq(), 3u);
  EXPECT_EQ(Commit(1), 4u);
}

TEST_F(RetentionTest, BackgroundThreadTrimsAndStops) {
  Commit(1);
  clock_.Advance(5000);
  RetentionOptions o;
  o.retention_millis = 1000;
  o.interval_millis = 5;
  ChangeLogRetention retention(*store_, clock_, o);
  retention.Start();
  for (int i = 0; i < 400 && store_->ChangeLogTrimmedThrough() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  retention.Stop();
  EXPECT_EQ(store_->ChangeLogTrimmedThrough(), 1u);
}

}  // namespace
}  // namespace amalgam::storage
