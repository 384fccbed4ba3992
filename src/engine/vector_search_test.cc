// VectorIndexes::Search while documents change: every returned score must be the exact score of
// the returned document (as read at the search's snapshot), whether it was computed from the
// graph's copy of the vector or from the document, and the search stays fresh afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "bson/builder.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "engine/vector_indexes.h"
#include "storage/test_dir.h"

namespace amalgam::engine {
namespace {

constexpr uint32_t kDims = 8;

bson::Document Doc(int64_t id, const std::vector<float>& v) {
  bson::Builder b;
  b.AppendInt64("_id", id).StartArray("v");
  for (size_t i = 0; i < v.size(); ++i) b.AppendDouble(std::to_string(i), v[i]);
  b.EndArray();
  return std::move(b).Finish();
}

std::vector<float> RandomVector(std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(kDims);
  for (float& x : v) x = u(rng);
  return v;
}

VectorIndexDef Def(std::string_view similarity) {
  std::string json = R"({"fields": [{"type": "vector", "path": "v", "numDimensions": 8, "similarity": ")" +
                     std::string(similarity) + R"("}]})";
  return ParseAtlasVectorDefinition("vi", bson::FromJson(json).value().view()).value();
}

class VectorSearchConcurrencyTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    auto e = Engine::Open(dir_.path(), EngineOptions{});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  Status Put(int64_t id, const std::vector<float>& v) {
    HandlePtr h = engine_->GetOrCreate("db", "c").value();
    bson::Document d = Doc(id, v);
    return engine_->RunWrite([&](WriteTxn& t) -> Status {
      AMALGAM_ASSIGN_OR_RETURN(auto before, t.Get(*h, d.view().Get("_id"), true));
      if (!before) return t.Insert(*h, d.view());
      return t.Update(*h, before->view(), d.view(), storage::ChangeOp::kReplace);
    }).status();
  }
  Status Remove(int64_t id) {
    HandlePtr h = engine_->GetOrCreate("db", "c").value();
    bson::Document key = Doc(id, {});
    return engine_->RunWrite([&](WriteTxn& t) -> Status {
      AMALGAM_ASSIGN_OR_RETURN(auto before, t.Get(*h, key.view().Get("_id"), true));
      if (!before) return Status::OK();
      return t.Delete(*h, before->view());
    }).status();
  }
  Result<std::vector<VectorMatch>> Search(const std::vector<float>& q, size_t k) {
    VectorQuery query;
    query.index = "vi";
    query.path = "v";
    query.vector = q;
    query.limit = k;
    query.num_candidates = 64;
    return engine_->vectors().Search("db", "c", query);
  }
  void WaitReady() {
    for (int i = 0; i < 4000; ++i) {
      auto all = engine_->vectors().List("db", "c");
      if (!all.empty() && all[0].status == VectorIndexStatus::kReady) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "index not ready";
  }

  storage::TestDir dir_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(VectorSearchConcurrencyTest, ScoresBelongToTheReturnedDocumentsWhileWritesRun) {
  const std::string similarity = GetParam();
  const index::VectorMetric metric = similarity == "cosine" ? index::VectorMetric::kCosine
                                                            : index::VectorMetric::kEuclidean;
  // Euclidean scores are bit-identical whichever copy of the vector they come from; cosine ones
  // from the graph's normalized copy agree to float32 rounding.
  const double tolerance = similarity == "cosine" ? 1e-6 : 0;
  constexpr int64_t kDocs = 300;
  std::mt19937 rng(5);
  for (int64_t i = 0; i < kDocs; ++i) ASSERT_TRUE(Put(i, RandomVector(rng)).ok());
  ASSERT_TRUE(engine_->vectors().Create("db", "c", Def(similarity)).ok());
  WaitReady();

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    std::mt19937 wrng(9);
    std::uniform_int_distribution<int64_t> pick(0, kDocs - 1);
    while (!stop.load()) {
      int64_t id = pick(wrng);
      Status s = (wrng() % 8 == 0) ? Remove(id) : Put(id, RandomVector(wrng));
      if (s.ok()) writes.fetch_add(1);
    }
  });
  size_t searches = 0, results = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < deadline && searches < 20000) {
    std::vector<float> q = RandomVector(rng);
    auto got = Search(q, 10);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ++searches;
    for (size_t i = 0; i < got->size(); ++i) {
      const VectorMatch& m = (*got)[i];
      std::optional<std::vector<float>> v = ExtractVector(m.doc.view(), "v", kDims, metric);
      ASSERT_TRUE(v.has_value());
      double exact = ExactVectorScore(metric, q, *v);
      ASSERT_NEAR(m.score, exact, tolerance) << "result " << i << " of search " << searches;
      if (i > 0) ASSERT_GE((*got)[i - 1].score, m.score);
      ++results;
    }
  }
  stop = true;
  writer.join();
  EXPECT_GT(writes.load(), 100);
  EXPECT_GT(results, searches * 5);

  // Fresh at once: a write acknowledged before the search is found, a delete is not returned.
  std::vector<float> mine = RandomVector(rng);
  ASSERT_TRUE(Put(7, mine).ok());
  auto top = Search(mine, 1);
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(top->front().doc.view().Get("_id").AsInt64(), 7);
  EXPECT_NEAR(top->front().score, 1.0, 1e-6);
  ASSERT_TRUE(Remove(7).ok());
  auto after = Search(mine, 10);
  ASSERT_TRUE(after.ok());
  for (const VectorMatch& m : *after) EXPECT_NE(m.doc.view().Get("_id").AsInt64(), 7);
}

INSTANTIATE_TEST_SUITE_P(Metrics, VectorSearchConcurrencyTest, ::testing::Values("euclidean", "cosine"));

}  // namespace
}  // namespace amalgam::engine
