#include <gtest/gtest.h>

#include "bson/json.h"
#include "catalog/catalog.h"
#include "storage/test_dir.h"

namespace amalgam::catalog {
namespace {

bson::Document J(std::string_view json) { return bson::FromJson(json).value(); }

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    catalog_.reset();
    store_.reset();
    store_ = storage::Store::Open(dir_.path(), storage::StoreOptions{}).value();
    auto c = Catalog::Open(*store_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(c).value();
  }
  IndexSpec Spec(std::string_view json) { return ParseIndexSpec(J(json).view()).value(); }

  storage::TestDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, CollectionsAndIndexesSurviveRestart) {
  ASSERT_TRUE(catalog_->CreateCollection("app", "users", J(R"({"capped": false})").view()).ok());
  ASSERT_TRUE(catalog_->CreateCollection("app", "chats", bson::DocView()).ok());
  ASSERT_TRUE(catalog_->CreateCollection("other", "x", bson::DocView()).ok());
  bool existed;
  auto idx = catalog_->AddIndex("app", "users", Spec(R"({"key": {"email": 1}, "name": "email_1", "unique": true})"), &existed);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  EXPECT_FALSE(existed);
  Reopen();
  EXPECT_EQ(catalog_->ListDatabases(), (std::vector<std::string>{"app", "other"}));
  auto colls = catalog_->ListCollections("app");
  ASSERT_EQ(colls.size(), 2u);
  EXPECT_EQ(colls[0]->name, "chats");
  CollectionPtr users = catalog_->Find("app", "users");
  ASSERT_NE(users, nullptr);
  ASSERT_EQ(users->indexes.size(), 2u);
  EXPECT_TRUE(users->indexes[0].is_id_index);
  EXPECT_EQ(users->indexes[1].name, "email_1");
  EXPECT_TRUE(users->indexes[1].unique);
  EXPECT_EQ(users->indexes[1].id, idx->id);
  EXPECT_NE(users->id, catalog_->Find("app", "chats")->id);
}

TEST_F(CatalogTest, CreateTwiceIsNamespaceExists) {
  ASSERT_TRUE(catalog_->CreateCollection("db", "c", bson::DocView()).ok());
  auto again = catalog_->CreateCollection("db", "c", bson::DocView());
  EXPECT_EQ(again.status().code(), ErrorCode::kNamespaceExists);
}

TEST_F(CatalogTest, InvalidNamesAreRejected) {
  EXPECT_EQ(catalog_->CreateCollection("a.b", "c", bson::DocView()).status().code(), ErrorCode::kInvalidNamespace);
  EXPECT_EQ(catalog_->CreateCollection("db", "", bson::DocView()).status().code(), ErrorCode::kInvalidNamespace);
  EXPECT_EQ(catalog_->CreateCollection("db", "a$b", bson::DocView()).status().code(), ErrorCode::kInvalidNamespace);
}

TEST_F(CatalogTest, RenameMovesAndDropTargetReplaces) {
  ASSERT_TRUE(catalog_->CreateCollection("db", "a", bson::DocView()).ok());
  ASSERT_TRUE(catalog_->CreateCollection("db", "b", bson::DocView()).ok());
  uint64_t a_id = catalog_->Find("db", "a")->id;
  CollectionPtr dropped;
  EXPECT_EQ(catalog_->RenameCollection("db", "a", "db", "b", false, &dropped).code(), ErrorCode::kNamespaceExists);
  ASSERT_TRUE(catalog_->RenameCollection("db", "a", "db2", "b", false, &dropped).ok());
  ASSERT_TRUE(catalog_->RenameCollection("db2", "b", "db", "b", true, &dropped).ok());
  ASSERT_NE(dropped, nullptr);
  Reopen();
  EXPECT_EQ(catalog_->Find("db", "a"), nullptr);
  EXPECT_EQ(catalog_->Find("db", "b")->id, a_id);
  EXPECT_TRUE(catalog_->ListCollections("db2").empty());
}

TEST_F(CatalogTest, IndexConflictsAreReportedAsMongoDoes) {
  ASSERT_TRUE(catalog_->CreateCollection("db", "c", bson::DocView()).ok());
  bool existed;
  ASSERT_TRUE(catalog_->AddIndex("db", "c", Spec(R"({"key": {"a": 1}, "name": "a_1"})"), &existed).ok());
  ASSERT_TRUE(catalog_->AddIndex("db", "c", Spec(R"({"key": {"a": 1}, "name": "a_1"})"), &existed).ok());
  EXPECT_TRUE(existed);
  EXPECT_EQ(catalog_->AddIndex("db", "c", Spec(R"({"key": {"b": 1}, "name": "a_1"})"), &existed).status().code(),
            ErrorCode::kIndexKeySpecsConflict);
  EXPECT_EQ(catalog_->AddIndex("db", "c", Spec(R"({"key": {"a": 1}, "name": "other"})"), &existed).status().code(),
            ErrorCode::kIndexOptionsConflict);
  EXPECT_EQ(catalog_->DropIndex("db", "c", "_id_").status().code(), ErrorCode::kInvalidOptions);
  EXPECT_EQ(catalog_->DropIndex("db", "c", "nope").status().code(), ErrorCode::kIndexNotFound);
  ASSERT_TRUE(catalog_->DropIndex("db", "c", "a_1").ok());
  EXPECT_EQ(catalog_->Find("db", "c")->indexes.size(), 1u);
}

TEST_F(CatalogTest, DropDatabaseRemovesEveryCollectionAndLogsIt) {
  ASSERT_TRUE(catalog_->CreateCollection("db", "a", bson::DocView()).ok());
  ASSERT_TRUE(catalog_->CreateCollection("db", "b", bson::DocView()).ok());
  uint64_t before = store_->LastVisibleSeq();
  auto dropped = catalog_->DropDatabase("db");
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->size(), 2u);
  EXPECT_EQ(store_->LastVisibleSeq(), before + 3);  // two drops and one dropDatabase
  EXPECT_TRUE(catalog_->ListDatabases().empty());
}

TEST(IndexSpecTest, ParsesAndRejectsLikeMongo) {
  auto bad = [](std::string_view json) { return ParseIndexSpec(bson::FromJson(json).value().view()).status().code(); };
  EXPECT_EQ(bad(R"({"key": {}, "name": "x"})"), ErrorCode::kCannotCreateIndex);
  EXPECT_EQ(bad(R"({"key": {"a": 0}, "name": "x"})"), ErrorCode::kCannotCreateIndex);
  EXPECT_EQ(bad(R"({"key": {"a": "text"}, "name": "x"})"), ErrorCode::kCannotCreateIndex);
  EXPECT_EQ(bad(R"({"key": {"a": 1}})"), ErrorCode::kFailedToParse);
  EXPECT_EQ(bad(R"({"key": {"a": 1}, "name": "x", "bogus": 1})"), ErrorCode::kInvalidIndexSpecificationOption);
  EXPECT_EQ(bad(R"({"key": {"a": 1}, "name": "x", "expireAfterSeconds": -1})"), ErrorCode::kInvalidOptions);
  auto ok = ParseIndexSpec(bson::FromJson(R"({"key": {"a.b": -1, "c": 1}, "name": "x", "sparse": true})").value().view());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->fields.size(), 2u);
  EXPECT_TRUE(ok->fields[0].descending);
  EXPECT_EQ(ok->fields[0].path.size(), 2u);
  EXPECT_EQ(DefaultIndexName(bson::FromJson(R"({"a": 1, "b": -1})").value().view()), "a_1_b_-1");
}

}  // namespace
}  // namespace amalgam::catalog
