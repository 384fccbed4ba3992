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

TEST_F(StoreTest, MultiGetReturnsEachKeysValueInInputOrder) {
  ASSERT_TRUE(PutOne("a", "1").ok());
  ASSERT_TRUE(PutOne("c", "3").ok());
  ASSERT_TRUE(store_->Flush().ok());   // "a" and "c" in an SST file,
  ASSERT_TRUE(PutOne("b", "2").ok());  // "b" in the memtable
  std::vector<std::string> keys{"c", "missing", "a", "b", "a", ""};
  auto r = store_->MultiGet(Cf::kDocuments, keys);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::optional<std::string>> want{"3", std::nullopt, "1", "2", "1", std::nullopt};
  EXPECT_EQ(r.value(), want);
  // Sorted input (the fast path) gives the same answers.
  std::vector<std::string> sorted{"a", "b", "c", "d"};
  r = store_->MultiGet(Cf::kDocuments, sorted);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r.value(), (std::vector<std::optional<std::string>>{"1", "2", "3", std::nullopt}));
  // Another column family holds none of them; no keys, no values.
  r = store_->MultiGet(Cf::kMeta, sorted);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), std::vector<std::optional<std::string>>(4));
  r = store_->MultiGet(Cf::kDocuments, std::span<const std::string>());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value().empty());
}

TEST_F(StoreTest, MultiGetReadsAtTheSnapshot) {
  ASSERT_TRUE(PutOne("kept", "v1").ok());
  ASSERT_TRUE(PutOne("changed", "old").ok());
  ASSERT_TRUE(PutOne("deleted", "d").ok());
  auto snap = store_->GetSnapshot();
  ASSERT_TRUE(PutOne("late", "x").ok());  // written after the snapshot
  ASSERT_TRUE(PutOne("changed", "new").ok());
  {
    auto t = store_->Begin(TxnOptions{});
    ASSERT_TRUE(t->Delete(Cf::kDocuments, "deleted").ok());
    ASSERT_TRUE(t->Commit().ok());
  }
  std::vector<std::string> keys{"changed", "deleted", "kept", "late", "never"};
  auto at = store_->MultiGet(Cf::kDocuments, keys, snap.get());
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(at.value(), (std::vector<std::optional<std::string>>{"old", "d", "v1", std::nullopt, std::nullopt}));
  auto latest = store_->MultiGet(Cf::kDocuments, keys);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest.value(), (std::vector<std::optional<std::string>>{"new", std::nullopt, "v1", "x", std::nullopt}));
  // Each agrees with Get at the same point.
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(store_->Get(Cf::kDocuments, keys[i], snap.get()).value(), at.value()[i]) << keys[i];
    EXPECT_EQ(store_->Get(Cf::kDocuments, keys[i]).value(), latest.value()[i]) << keys[i];
  }
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
