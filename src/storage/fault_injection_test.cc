// An I/O error on the write path reaches the caller as a status and leaves nothing
// half-written: RocksDB's FileSystem is wrapped so that WAL appends fail on demand.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>

#include "storage/store.h"
#include "storage/test_dir.h"
#include "storage/txn.h"

namespace amalgam::storage {
namespace {

std::atomic<bool> g_fail_writes{false};

class FailingFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (g_fail_writes) return rocksdb::IOStatus::IOError("injected write failure");
    return FSWritableFileOwnerWrapper::Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* dbg) override {
    if (g_fail_writes) return rocksdb::IOStatus::IOError("injected write failure");
    return FSWritableFileOwnerWrapper::Append(data, o, v, dbg);
  }
};

class FailingFs : public rocksdb::FileSystemWrapper {
 public:
  using FileSystemWrapper::FileSystemWrapper;
  const char* Name() const override { return "FailingFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, &file, dbg);
    if (s.ok()) r->reset(new FailingFile(std::move(file)));
    return s;
  }
};

Status PutOne(Store& store, const std::string& key) {
  auto t = store.Begin(TxnOptions{});
  AMALGAM_RETURN_IF_ERROR(t->Put(Cf::kDocuments, key, "v"));
  ChangeRecord r;
  r.db = "test";
  r.collection = key;
  t->AddChange(std::move(r));
  return t->Commit().status();
}

TEST(FaultInjectionTest, FailedWalWriteIsAnErrorAndLeavesNothingBehind) {
  TestDir dir;
  auto fs = std::make_shared<FailingFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  {
    StoreOptions opts;
    opts.env = env.get();
    auto store = Store::Open(dir.path(), opts);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(PutOne(**store, "before").ok());
    g_fail_writes = true;
    Status s = PutOne(**store, "during");
    g_fail_writes = false;
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), ErrorCode::kIOError) << s.ToString();
  }
  auto store = Store::Open(dir.path(), StoreOptions{});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Get(Cf::kDocuments, "before").value(), "v");
  EXPECT_EQ((*store)->Get(Cf::kDocuments, "during").value(), std::nullopt);
  EXPECT_EQ((*store)->LastVisibleSeq(), 1u);  // the failed commit left no change-log entry
  ASSERT_TRUE(PutOne(**store, "after").ok());
  EXPECT_EQ((*store)->LastVisibleSeq(), 2u);
}

}  // namespace
}  // namespace amalgam::storage
