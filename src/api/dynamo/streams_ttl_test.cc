// DynamoDB TTL (streams_ttl.cc with the engine's TtlMonitor): the internal index that
// UpdateTimeToLive keeps on the TTL attribute, which items a pass deletes, and what a pass over
// a large table with few expired items costs with and without the index.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "api/dynamo/service.h"
#include "api/dynamo/service_internal.h"
#include "api/dynamo/streams.h"
#include "api/dynamo/table_meta.h"
#include "engine/engine.h"
#include "engine/ttl_monitor.h"
#include "storage/test_dir.h"

namespace amalgam::api::dynamo {
namespace {

constexpr std::string_view kAuth =
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date;x-amz-target, Signature=abcdef";

class DynamoTtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(static_cast<int64_t>(std::time(nullptr)) * 1000);
    auto e = engine::Engine::Open(dir_.path(), engine::EngineOptions{});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    service_ = std::make_unique<DynamoService>(*engine_, clock_, ServiceOptions{});
    ASSERT_EQ(Call("CreateTable", R"({"TableName": "Tbl", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})").status, 200);
  }
  void TearDown() override { service_->Stop(); }

  HttpResponseOut Call(std::string_view op, std::string_view body) {
    std::string target = "DynamoDB_20120810." + std::string(op);
    HttpRequestView req;
    req.method = "POST";
    req.path = "/";
    req.amz_target = target;
    req.content_type = "application/x-amz-json-1.0";
    req.authorization = kAuth;
    req.has_date = true;
    req.body = body;
    HttpResponseOut out;
    service_->Handle(req, &out);
    return out;
  }
  void SetTtl(bool enabled) {
    HttpResponseOut r = Call("UpdateTimeToLive", std::string(R"({"TableName": "Tbl", "TimeToLiveSpecification": {"Enabled": )") +
                                                     (enabled ? "true" : "false") + R"(, "AttributeName": "exp"}})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const catalog::IndexSpec* TtlIndex() {
    info_ = engine_->catalog().Find(kDynamoDb, "Tbl");
    for (const catalog::IndexSpec& s : info_->indexes) {
      if (s.name == TtlIndexName("exp")) return &s;
    }
    return nullptr;
  }
  // Writes items straight through the engine (the DynamoDB mapping), 1,000 per transaction.
  void Load(const std::vector<model::Item>& items) {
    auto meta = DecodeTableMeta(engine_->catalog().Find(kDynamoDb, "Tbl")->options.view());
    ASSERT_TRUE(meta.ok() && *meta);
    engine::HandlePtr h = engine_->Find(kDynamoDb, "Tbl");
    for (size_t i = 0; i < items.size(); i += 1000) {
      auto r = engine_->RunWrite([&](engine::WriteTxn& t) -> Status {
        for (size_t j = i; j < std::min(items.size(), i + 1000); ++j) {
          bson::Document d = model::ItemToBson((*meta)->key, items[j]);
          AMALGAM_RETURN_IF_ERROR(t.Insert(*h, d.view()));
        }
        return Status::OK();
      });
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  static model::Item ItemWith(std::string pk, std::optional<model::AttributeValue> exp) {
    model::Item item;
    item["pk"] = model::AttributeValue::S(std::move(pk));
    if (exp) item["exp"] = *exp;
    return item;
  }
  std::string Seconds(int64_t offset_seconds) { return std::to_string(clock_.NowMillis() / 1000 + offset_seconds); }
  uint64_t Count() {
    uint64_t n = 0;
    auto cursor = engine_->Read()->Scan(*engine_->Find(kDynamoDb, "Tbl"));
    bson::DocView d;
    while (cursor->Next(&d)) ++n;
    return n;
  }

  storage::TestDir dir_;
  ManualClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<DynamoService> service_;
  catalog::CollectionPtr info_;
};

TEST_F(DynamoTtlTest, UpdateTimeToLiveKeepsAnIndexOnTheAttributeAndTheRuleUsesIt) {
  EXPECT_EQ(TtlIndex(), nullptr);
  SetTtl(true);
  const catalog::IndexSpec* spec = TtlIndex();
  ASSERT_NE(spec, nullptr);
  std::vector<engine::TtlRule> rules = DynamoTtlRules(*info_);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].index_id, spec->id);
  EXPECT_TRUE(rules[0].candidate_range);
  // The DynamoDB face does not show it.
  HttpResponseOut d = Call("DescribeTable", R"({"TableName": "Tbl"})");
  EXPECT_EQ(d.body.find("ttl:"), std::string::npos) << d.body;
  EXPECT_EQ(d.body.find("GlobalSecondaryIndexes"), std::string::npos) << d.body;
  SetTtl(false);
  EXPECT_EQ(TtlIndex(), nullptr);
  EXPECT_TRUE(DynamoTtlRules(*info_).empty());
}

TEST_F(DynamoTtlTest, APassDeletesExpiredNumbersOnlyWithTheIndexAsWithoutIt) {
  for (bool indexed : {false, true}) {
    SCOPED_TRACE(indexed ? "indexed" : "scan");
    using AV = model::AttributeValue;
    std::vector<model::Item> items = {
        ItemWith("past", AV::N(Seconds(-10))),
        ItemWith("now", AV::N(Seconds(0))),
        ItemWith("fraction", AV::N(Seconds(-1) + ".5")),
        ItemWith("future", AV::N(Seconds(3600))),
        ItemWith("string", AV::S(Seconds(-10))),                 // not a number: never expires
        ItemWith("set", AV::NS({Seconds(-10)})),                 // a number set: never
        ItemWith("ancient", AV::N(Seconds(-6 * 365 * 86400))),  // more than five years past: never
        ItemWith("none", std::nullopt),
    };
    for (auto& item : items) item["pk"].scalar += indexed ? "-i" : "-s";
    Load(items);
    SetTtl(true);
    if (!indexed) {
      ASSERT_TRUE(engine_->DropIndex(kDynamoDb, "Tbl", TtlIndexName("exp")).ok());  // as before the index
    }
    engine::TtlOptions o;
    o.throttle_ratio = 0;
    engine::TtlMonitor m(*engine_, clock_, o);
    m.AddRuleProvider(DynamoTtlRules);
    auto n = m.RunOnce();
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, 3u);
    EXPECT_EQ(Count(), 5u);
    // The future item goes once its time has passed.
    clock_.Advance(3601 * 1000);
    n = m.RunOnce();
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 1u);
    EXPECT_EQ(Count(), 4u);
    if (indexed) {
      SetTtl(false);
    } else {
      HttpResponseOut r = Call("UpdateTimeToLive", R"({"TableName": "Tbl", "TimeToLiveSpecification": {"Enabled": false, "AttributeName": "exp"}})");
      ASSERT_EQ(r.status, 200) << r.body;  // no index to drop: fine
    }
    // Start the next round from an empty table.
    ASSERT_EQ(Call("DeleteTable", R"({"TableName": "Tbl"})").status, 200);
    ASSERT_EQ(Call("CreateTable", R"({"TableName": "Tbl", "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})").status, 200);
    clock_.Set(static_cast<int64_t>(std::time(nullptr)) * 1000);
  }
}

// A table whose TTL was enabled before the index existed: the expirer builds the index in its
// own thread on its first pass (which still scans), then uses it.
TEST_F(DynamoTtlTest, TheExpirerBuildsTheIndexForTtlFromBeforeIt) {
  using AV = model::AttributeValue;
  Load({ItemWith("a", AV::N(Seconds(-10))), ItemWith("b", AV::N(Seconds(3600)))});
  SetTtl(true);
  ASSERT_TRUE(engine_->DropIndex(kDynamoDb, "Tbl", TtlIndexName("exp")).ok());
  ASSERT_EQ(TtlIndex(), nullptr);
  EXPECT_EQ(DynamoTtlRules(*info_)[0].index_id, 0u);
  EXPECT_TRUE(DynamoTtlRules(*info_)[0].wanted_index);
  engine::TtlOptions o;
  o.throttle_ratio = 0;
  engine::TtlMonitor m(*engine_, clock_, o);
  m.AddRuleProvider(DynamoTtlRules);
  auto n = m.RunOnce();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  const catalog::IndexSpec* spec = TtlIndex();
  ASSERT_NE(spec, nullptr);
  std::vector<engine::TtlRule> rules = DynamoTtlRules(*info_);
  EXPECT_EQ(rules[0].index_id, spec->id);
  EXPECT_FALSE(rules[0].wanted_index);
  clock_.Advance(3601 * 1000);
  n = m.RunOnce();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(Count(), 0u);
  SetTtl(false);
  EXPECT_EQ(TtlIndex(), nullptr);
}

// The cost of one pass over a large table where few items have expired, by a table scan (as
// before the index) and by the index. AMALGAM_TTL_BENCH_ITEMS sets the table size (default
// 20,000 to keep the suite fast; the figure in docs/ttl.md is for 200,000).
TEST_F(DynamoTtlTest, APassCostsTheExpiredItemsNotTheTable) {
  size_t total = 20'000;
  if (const char* env = std::getenv("AMALGAM_TTL_BENCH_ITEMS")) total = std::strtoull(env, nullptr, 10);
  constexpr size_t kExpiring = 10;
  std::vector<model::Item> items;
  items.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    char pk[32];
    std::snprintf(pk, sizeof pk, "item%09zu", i);
    int64_t offset = i % (total / kExpiring) == 0 ? -60 : 86400 + static_cast<int64_t>(i % 1000);
    items.push_back(ItemWith(pk, model::AttributeValue::N(Seconds(offset))));
  }
  Load(items);
  SetTtl(true);
  ASSERT_NE(TtlIndex(), nullptr);
  engine::TtlOptions o;
  o.throttle_ratio = 0;
  o.max_scan_per_pass = total + 1;  // let the scan reach every item, as the index does
  auto timed_pass = [&](uint64_t* deleted) {
    engine::TtlMonitor m(*engine_, clock_, o);
    m.AddRuleProvider([](const catalog::CollectionInfo& info) {
      auto rules = DynamoTtlRules(info);
      for (auto& r : rules) r.wanted_index.reset();  // measure the scan as it was, no rebuild
      return rules;
    });
    auto start = std::chrono::steady_clock::now();
    auto n = m.RunOnce();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    EXPECT_TRUE(n.ok());
    *deleted = n.ok() ? *n : 0;
    return ms;
  };
  // Scan first (index dropped, as before this change), then the same pass with the index.
  ASSERT_TRUE(engine_->DropIndex(kDynamoDb, "Tbl", TtlIndexName("exp")).ok());
  uint64_t scan_deleted = 0;
  double scan_ms = timed_pass(&scan_deleted);
  EXPECT_EQ(scan_deleted, kExpiring);
  double scan_idle_ms = timed_pass(&scan_deleted);  // nothing left to delete: the bare cost
  EXPECT_EQ(scan_deleted, 0u);
  // Ten more expired items, then the same pass with the index.
  ASSERT_TRUE(engine_->CreateIndex(kDynamoDb, "Tbl", TtlIndexSpec("exp")->view()).ok());
  std::vector<model::Item> more;
  for (size_t i = 0; i < kExpiring; ++i) {
    more.push_back(ItemWith("more" + std::to_string(i), model::AttributeValue::N(Seconds(-60))));
  }
  Load(more);
  uint64_t index_deleted = 0;
  double index_ms = timed_pass(&index_deleted);
  EXPECT_EQ(index_deleted, kExpiring);
  double index_idle_ms = timed_pass(&index_deleted);
  EXPECT_EQ(index_deleted, 0u);
  std::printf("ttl pass over %zu items, %zu expired: scan %.1f ms (idle %.1f ms), index %.2f ms (idle %.2f ms)\n",
              total, kExpiring, scan_ms, scan_idle_ms, index_ms, index_idle_ms);
  EXPECT_LT(index_idle_ms, scan_idle_ms);
}

}  // namespace
}  // namespace amalgam::api::dynamo
