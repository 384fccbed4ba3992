#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "bson/builder.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "storage/test_dir.h"

namespace amalgam::engine {
namespace {

bson::Document J(std::string_view json) { return bson::FromJson(json).value(); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    engine_.reset();
    auto e = Engine::Open(dir_.path(), EngineOptions{});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  HandlePtr Coll(std::string_view name = "c") { return engine_->GetOrCreate("db", name).value(); }
  Status Insert(std::string_view json, std::string_view coll = "c") {
    bson::Document d = J(json);
    HandlePtr h = Coll(coll);
    return engine_->RunWrite([&](WriteTxn& t) { return t.Insert(*h, d.view()); }).status();
  }
  std::optional<std::string> Get(const bson::Document& id_doc) {
    auto d = engine_->Read()->Get(*Coll(), id_doc.view().Get("_id")).value();
    return d ? std::optional<std::string>(bson::ToJson(d->view())) : std::nullopt;
  }
  void ExpectValid() {
    auto r = engine_->Validate("db", "c");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& e : r->errors) ADD_FAILURE() << e;
  }

  storage::TestDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, InsertGetAndDuplicateIdLikeMongo) {
  ASSERT_TRUE(Insert(R"({"_id": 1, "x": "a"})").ok());
  EXPECT_EQ(Get(J(R"({"_id": 1.0})")), R"({ "_id" : 1, "x" : "a" })");  // 1.0 finds 1
  Status dup = Insert(R"({"_id": {"$numberLong": "1"}, "x": "b"})");
  EXPECT_EQ(dup.code(), ErrorCode::kDuplicateKey);
  EXPECT_EQ(dup.message(), "E11000 duplicate key error collection: db.c index: _id_ dup key: { _id: 1 }");
  EXPECT_EQ(Insert(R"({"_id": [1]})").code(), ErrorCode::kInvalidIdField);
  EXPECT_EQ(Insert(R"({"x": 1})").code(), ErrorCode::kInvalidIdField);
}

TEST_F(EngineTest, ScanReturnsDocumentsInIdOrderAcrossTypes) {
  for (std::string_view d : {R"({"_id": "b"})", R"({"_id": 2.5})", R"({"_id": {"$numberLong": "-3"}})", R"({"_id": "a"})",
                             R"({"_id": {"k": 1}})"}) {
    ASSERT_TRUE(Insert(d).ok());
  }
  auto cursor = engine_->Read()->Scan(*Coll());
  bson::DocView doc;
  std::vector<std::string> ids;
  while (cursor->Next(&doc)) ids.push_back(bson::ToJson(doc));
  EXPECT_EQ(ids, (std::vector<std::string>{R"({ "_id" : -3 })", R"({ "_id" : 2.5 })", R"({ "_id" : "a" })",
                                           R"({ "_id" : "b" })", R"({ "_id" : { "k" : 1 } })"}));
}

TEST_F(EngineTest, UniqueIndexRejectsDuplicatesWithIndexNameAndKey) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"email": 1}, "name": "email_1", "unique": true})").view()).ok());
  ASSERT_TRUE(Insert(R"({"_id": 1, "email": "a@x"})").ok());
  Status s = Insert(R"({"_id": 2, "email": "a@x"})");
  EXPECT_EQ(s.code(), ErrorCode::kDuplicateKey);
  EXPECT_EQ(s.message(), R"(E11000 duplicate key error collection: db.c index: email_1 dup key: { email: "a@x" })");
  EXPECT_EQ(Get(J(R"({"_id": 2})")), std::nullopt);  // nothing half-written
  ExpectValid();
}

TEST_F(EngineTest, IndexBuildOverExistingDataAndFailedUniqueBuildIsRemoved) {
  for (int i = 0; i < 1200; ++i) {
    ASSERT_TRUE(Insert(R"({"_id": )" + std::to_string(i) + R"(, "tags": ["t)" + std::to_string(i % 7) + R"(", "all"], "n": )" +
                       std::to_string(i % 10) + "}")
                    .ok());
  }
  auto created = engine_->CreateIndex("db", "c", J(R"({"key": {"tags": 1, "n": -1}, "name": "tags_n"})").view());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(*created);
  EXPECT_FALSE(*engine_->CreateIndex("db", "c", J(R"({"key": {"tags": 1, "n": -1}, "name": "tags_n"})").view()));
  ExpectValid();
  auto r = engine_->Validate("db", "c").value();
  EXPECT_EQ(r.index_entries["tags_n"], 2400u);
  auto bad = engine_->CreateIndex("db", "c", J(R"({"key": {"n": 1}, "name": "n_1", "unique": true})").view());
  EXPECT_EQ(bad.status().code(), ErrorCode::kDuplicateKey);
  EXPECT_EQ(Coll()->info->FindIndex("n_1"), nullptr);
  ExpectValid();
}

TEST_F(EngineTest, IndexBuildRacesConcurrentWritersAndStaysConsistent) {
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(Insert(R"({"_id": )" + std::to_string(i) + R"(, "v": 0})").ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int round = 1; !stop.load() && round < 100000; ++round) {
      int id = (round * 7919) % 2000;
      HandlePtr h = Coll();
      auto r = engine_->RunWrite([&](WriteTxn& t) -> Status {
        auto before = t.Get(*h, J(R"({"_id": )" + std::to_string(id) + "}").view().Get("_id"), true);
        if (!before.ok()) return before.status();
        if (!before.value()) return Status::OK();
        bson::Document after = J(R"({"_id": )" + std::to_string(id) + R"(, "v": )" + std::to_string(round) + "}");
        if (round % 5 == 0) return t.Delete(*h, before.value()->view());
        return t.Update(*h, before.value()->view(), after.view(), storage::ChangeOp::kReplace);
      });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  });
  auto created = engine_->CreateIndex("db", "c", J(R"({"key": {"v": 1}, "name": "v_1"})").view());
  stop = true;
  writer.join();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ExpectValid();
}

TEST_F(EngineTest, ChangeLogRecordsEveryWriteInCommitOrder) {
  HandlePtr h = Coll();
  uint64_t start = engine_->store().LastVisibleSeq();
  ASSERT_TRUE(Insert(R"({"_id": 1, "a": 1})").ok());
  bson::Document after = J(R"({"_id": 1, "a": 2})");
  ASSERT_TRUE(engine_->RunWrite([&](WriteTxn& t) -> Status {
                auto before = t.Get(*h, after.view().Get("_id"), true).value();
                AMALGAM_RETURN_IF_ERROR(t.Update(*h, before->view(), after.view(), storage::ChangeOp::kUpdate,
                                                 J(R"({"updatedFields": {"a": 2}, "removedFields": []})")));
                return t.Delete(*h, after.view());
              }).ok());
  auto changes = engine_->ReadChanges(start, 100).value();
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].record.op, storage::ChangeOp::kInsert);
  EXPECT_EQ(changes[1].record.op, storage::ChangeOp::kUpdate);
  EXPECT_EQ(changes[2].record.op, storage::ChangeOp::kDelete);
  EXPECT_EQ(changes[1].commit_first_seq, changes[2].commit_first_seq);
  EXPECT_EQ(changes[1].commit_count, 2u);
  EXPECT_EQ(bson::ToJson(changes[1].record.update->view()), R"({ "updatedFields" : { "a" : 2 }, "removedFields" : [  ] })");
  EXPECT_EQ(bson::ToJson(changes[2].record.document_key->view()), R"({ "_id" : 1 })");
  EXPECT_EQ(changes[0].record.db, "db");
}

TEST_F(EngineTest, DropAndRenameKeepDataWithTheCollection) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"a": 1}, "name": "a_1"})").view()).ok());
  ASSERT_TRUE(Insert(R"({"_id": 1, "a": 1})").ok());
  ASSERT_TRUE(engine_->RenameCollection("db", "c", "db", "d", false).ok());
  EXPECT_EQ(engine_->Find("db", "c"), nullptr);
  HandlePtr d = engine_->Find("db", "d");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(engine_->Read()->Get(*d, J(R"({"_id": 1})").view().Get("_id")).value().has_value());
  ASSERT_TRUE(engine_->DropCollection("db", "d").ok());
  auto it = engine_->store().NewIterator(storage::Cf::kDocuments, "", "");
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  auto ix = engine_->store().NewIterator(storage::Cf::kIndexes, "", "");
  ix->SeekToFirst();
  EXPECT_FALSE(ix->Valid());
  EXPECT_EQ(engine_->DropCollection("db", "d").code(), ErrorCode::kNamespaceNotFound);
}

TEST_F(EngineTest, DataAndIndexesSurviveReopen) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"a": 1}, "name": "a_1", "unique": true})").view()).ok());
  ASSERT_TRUE(Insert(R"({"_id": 1, "a": 1})").ok());
  Reopen();
  EXPECT_EQ(Get(J(R"({"_id": 1})")), R"({ "_id" : 1, "a" : 1 })");
  EXPECT_EQ(Insert(R"({"_id": 2, "a": 1})").code(), ErrorCode::kDuplicateKey);
  ExpectValid();
}

TEST_F(EngineTest, ConcurrentIncrementsThroughRunWriteLoseNothing) {
  ASSERT_TRUE(Insert(R"({"_id": 1, "n": {"$numberLong": "0"}})").ok());
  HandlePtr h = Coll();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto r = engine_->RunWrite([&](WriteTxn& txn) -> Status {
          bson::Document id = J(R"({"_id": 1})");
          auto before = txn.Get(*h, id.view().Get("_id"), true);
          if (!before.ok()) return before.status();
          int64_t n = before.value()->view().Get("n").AsInt64();
          bson::Builder b;
          b.AppendInt32("_id", 1).AppendInt64("n", n + 1);
          bson::Document after = std::move(b).Finish();
          return txn.Update(*h, before.value()->view(), after.view(), storage::ChangeOp::kUpdate);
        });
        ASSERT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Get(J(R"({"_id": 1})")), R"({ "_id" : 1, "n" : 400 })");
}

TEST_F(EngineTest, IndexesBecomeMultikeyOnceAndStaySoAcrossRestarts) {
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"a": 1}, "name": "a_1"})").view()).ok());
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"b": 1}, "name": "b_1"})").view()).ok());
  ASSERT_TRUE(Insert(R"({"_id": 1, "a": 1, "b": 2})").ok());
  EXPECT_FALSE(Coll()->IsMultikey(0));
  ASSERT_TRUE(Insert(R"({"_id": 2, "a": [1, 2], "b": 2})").ok());
  EXPECT_TRUE(Coll()->IsMultikey(0));
  EXPECT_FALSE(Coll()->IsMultikey(1));
  Reopen();
  EXPECT_TRUE(Coll()->IsMultikey(0));
  EXPECT_FALSE(Coll()->IsMultikey(1));
  // An index built over existing array data is multikey from the start.
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"a": -1, "b": 1}, "name": "ab"})").view()).ok());
  EXPECT_TRUE(Coll()->IsMultikey(2));
  ASSERT_TRUE(engine_->DropIndex("db", "c", "a_1").ok());
  ASSERT_TRUE(engine_->CreateIndex("db", "c", J(R"({"key": {"b": 1, "x": 1}, "name": "bx"})").view()).ok());
  EXPECT_FALSE(Coll()->IsMultikey(2));
}

// SplitIds cuts the collection into _id ranges of about equal size (from storage's estimates),
// both while the documents are in the memtable and after a flush; ScanRange over the ranges reads
// every document exactly once, in _id order.
TEST_F(EngineTest, SplitIdsAndScanRangeCoverTheCollectionOnce) {
  HandlePtr c = Coll();
  Coll("other");
  ASSERT_TRUE(Insert(R"({"_id": 1})", "other").ok());
  const std::string pad(1000, 'p');
  constexpr int kDocs = 4000;
  ASSERT_TRUE(engine_->RunWrite([&](WriteTxn& t) -> Status {
    for (int i = 0; i < kDocs; ++i) {
      bson::Builder b;
      b.AppendInt32("_id", i);
      b.AppendString("pad", pad + std::to_string(i));
      AMALGAM_RETURN_IF_ERROR(t.Insert(*c, std::move(b).Finish().view()));
    }
    return Status::OK();
  }).ok());
  for (bool flushed : {false, true}) {
    if (flushed) ASSERT_TRUE(engine_->store().Flush().ok());
    std::unique_ptr<ReadView> view = engine_->Read();
    EXPECT_TRUE(view->SplitIds(*c, 4, 10u << 20).empty()) << "4 MB is below 4 x 10 MB";
    std::vector<std::string> splits = view->SplitIds(*c, 4, 1);
    ASSERT_FALSE(splits.empty()) << "flushed " << flushed;
    EXPECT_LE(splits.size(), 3u);
    std::vector<int> ids;
    std::vector<size_t> sizes;
    for (size_t r = 0; r <= splits.size(); ++r) {
      if (r > 0) EXPECT_LT(splits[r - 1], r < splits.size() ? splits[r] : std::string("\xff"));
      auto cursor = view->ScanRange(*c, r == 0 ? std::string_view() : splits[r - 1],
                                    r == splits.size() ? std::string_view() : splits[r]);
      bson::DocView doc;
      size_t before = ids.size();
      while (cursor->Next(&doc)) ids.push_back(doc.Get("_id").AsInt32());
      ASSERT_TRUE(cursor->status().ok());
      sizes.push_back(ids.size() - before);
    }
    ASSERT_EQ(ids.size(), static_cast<size_t>(kDocs)) << "flushed " << flushed;
    for (int i = 0; i < kDocs; ++i) ASSERT_EQ(ids[static_cast<size_t>(i)], i);
    // Balance: from SST files the estimates are close (no range over 40% of the documents when
    // split in four); in the memtable they come from skip-list sampling and vary from run to run.
    std::string shown;
    for (size_t n : sizes) shown += std::to_string(n) + " ";
    for (size_t n : sizes) {
      EXPECT_LE(n, static_cast<size_t>(flushed ? kDocs * 2 / 5 : kDocs * 19 / 20)) << "flushed " << flushed << ": " << shown;
    }
  }
}

}  // namespace
}  // namespace amalgam::engine
