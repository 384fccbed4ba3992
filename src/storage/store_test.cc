#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "storage/data_dir_lock.h"
#include "storage/store.h"
#include "storage/key_codec.h"
#include "storage/test_dir.h"
#include "storage/txn.h"

namespace amalgam::storage {
namespace {

ChangeRecord Change(std::string key) {
  ChangeRecord r;
  r.op = ChangeOp::kInsert;
  r.db = "test";
  r.collection = std::move(key);
  return r;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto r = Store::Open(dir_.path(), StoreOptions{});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store_ = std::move(r).value();
  }
  Status PutOne(std::string_view key, std::string_view value, bool log = true) {
    auto t = store_->Begin(TxnOptions{});
    AMALGAM_RETURN_IF_ERROR(t->Put(Cf::kDocuments, key, value));
    if (log) t->AddChange(Change(std::string(key)));
    return t->Commit().status();
  }
  std::optional<std::string> Read(std::string_view key) { return store_->Get(Cf::kDocuments, key).value(); }

  TestDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CommittedWritesAreVisibleAndRolledBackOnesAreNot) {
  ASSERT_TRUE(PutOne("a", "1").ok());
  auto t = store_->Begin(TxnOptions{});
  ASSERT_TRUE(t->Put(Cf::kDocuments, "b", "2").ok());
  t->Rollback();
  EXPECT_EQ(Read("a"), "1");
  EXPECT_EQ(Read("b"), std::nullopt);
}

TEST_F(StoreTest, TransactionReadsItsSnapshotPlusItsOwnWrites) {
  ASSERT_TRUE(PutOne("a", "1").ok());
  auto t = store_->Begin(TxnOptions{});
  ASSERT_TRUE(PutOne("late", "x").ok());  // committed after t's snapshot
  ASSERT_TRUE(t->Put(Cf::kDocuments, "mine", "m").ok());
  EXPECT_EQ(t->Get(Cf::kDocuments, "a").value(), "1");
  EXPECT_EQ(t->Get(Cf::kDocuments, "late").value(), std::nullopt);
  EXPECT_EQ(t->Get(Cf::kDocuments, "mine").value(), "m");
  auto it = t->NewIterator(Cf::kDocuments, "", "");
  std::vector<std::string> keys;
  for (it->SeekToFirst(); it->Valid(); it->Next()) keys.emplace_back(it->key());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "mine"}));
  ASSERT_TRUE(t->Commit().ok());
}

TEST_F(StoreTest, ConcurrentWritersOfOneKeyConflict) {
  auto t1 = store_->Begin(TxnOptions{});
  auto t2 = store_->Begin(TxnOptions{});
  ASSERT_TRUE(t1->Put(Cf::kDocuments, "k", "1").ok());
  Status s = t2->Put(Cf::kDocuments, "k", "2");
  EXPECT_EQ(s.code(), ErrorCode::kWriteConflict) << s.ToString();
  ASSERT_TRUE(t1->Commit().ok());
  EXPECT_EQ(Read("k"), "1");
}

TEST_F(StoreTest, WritingAKeyCommittedAfterTheSnapshotConflicts) {
  auto t = store_->Begin(TxnOptions{});
  ASSERT_TRUE(PutOne("k", "other").ok());
  Status s = t->Put(Cf::kDocuments, "k", "mine");
  EXPECT_EQ(s.code(), ErrorCode::kWriteConflict) << s.ToString();
  auto r = t->GetForUpdate(Cf::kDocuments, "k");
  EXPECT_EQ(r.status().code(), ErrorCode::kWriteConflict);
}

TEST_F(StoreTest, ChangeLogSequencesAreContiguousAndSurviveReopen) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(PutOne("k" + std::to_string(i), "v").ok());
  auto t = store_->Begin(TxnOptions{});
  ASSERT_TRUE(t->Put(Cf::kDocuments, "x", "1").ok());
  t->AddChange(Change("x1"));
  t->AddChange(Change("x2"));
  auto info = t->Commit();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->first_seq, 6u);
  EXPECT_EQ(info->count, 2u);
  EXPECT_EQ(store_->LastVisibleSeq(), 7u);
  t.reset();
  Reopen();
  EXPECT_EQ(store_->LastVisibleSeq(), 7u);
  ASSERT_TRUE(PutOne("y", "1").ok());
  EXPECT_EQ(store_->LastVisibleSeq(), 8u);
  auto it = store_->NewIterator(Cf::kChangeLog, "", "");
  uint64_t expect = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expect) {
    ASSERT_EQ(ReadUint64BE(it->key()), expect);
    auto e = DecodeChangeEntry(expect, it->value());
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (expect == 6 || expect == 7) {
      EXPECT_EQ(e->commit_first_seq, 6u);
      EXPECT_EQ(e->commit_count, 2u);
    }
  }
  EXPECT_EQ(expect, 9u);
}

TEST_F(StoreTest, ReadersNeverSeeAGapUnderConcurrentCommits) {
  // Writers commit concurrently; a reader repeatedly takes the watermark and checks that every
  // entry up to it is present. A gap would mean a later commit became visible before an
  // earlier sequence number was written.
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 300; ++i) {
        Status s = PutOne("w" + std::to_string(w) + "_" + std::to_string(i), "v");
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
    });
  }
  uint64_t checks = 0;
  std::thread reader([&] {
    do {
      auto snap = store_->GetSnapshot();
      uint64_t visible = snap->visible_seq();
      auto it = store_->NewIterator(Cf::kChangeLog, "", "", snap.get());
      uint64_t expect = 1;
      for (it->SeekToFirst(); it->Valid() && expect <= visible; it->Next(), ++expect) {
        if (ReadUint64BE(it->key()) != expect) errors++;
      }
      if (expect <= visible) {
        errors++;
        ADD_FAILURE() << "visible " << visible << " but entry " << expect << " missing";
      }
      ++checks;
    } while (!stop.load());
  });
  for (auto& t : writers) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(store_->LastVisibleSeq(), 1200u);
  EXPECT_GT(checks, 0u);
}

TEST_F(StoreTest, WaitForSeqAfterReturnsOnCommitOrDeadline) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  EXPECT_EQ(store_->WaitForSeqAfter(0, deadline), 0u);
  std::thread t([&] { ASSERT_TRUE(PutOne("a", "1").ok()); });
  uint64_t got = store_->WaitForSeqAfter(0, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  t.join();
  EXPECT_EQ(got, 1u);
}

TEST(DataDirLockTest, SecondHolderIsRefusedWithTheHoldersPid) {
  TestDir dir;
  auto first = DataDirLock::Acquire(dir.path());
  ASSERT_TRUE(first.ok());
  auto second = Store::Open(dir.path(), StoreOptions{});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kDataDirLocked);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().message();
  first.value().reset();
  EXPECT_TRUE(Store::Open(dir.path(), StoreOptions{}).ok());
}

}  // namespace
}  // namespace amalgam::storage
