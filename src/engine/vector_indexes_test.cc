#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>

#include "bson/builder.h"
#include "bson/json.h"
#include "engine/engine.h"
#include "engine/vector_indexes.h"
#include "storage/test_dir.h"

namespace amalgam::engine {
namespace {

constexpr uint32_t kDims = 6;

bson::Document J(std::string_view json) { return bson::FromJson(json).value(); }

bson::Document Doc(int64_t id, const std::vector<float>& v, int32_t group) {
  bson::Builder b;
  b.AppendInt64("_id", id).StartArray("v");
  for (size_t i = 0; i < v.size(); ++i) b.AppendDouble(std::to_string(i), v[i]);
  b.EndArray().AppendInt32("g", group);
  return std::move(b).Finish();
}

// Accepts documents whose `g` equals a value.
class GroupFilter final : public VectorDocFilter {
 public:
  explicit GroupFilter(int32_t g) : g_(g) {}
  bool Matches(bson::DocView doc) const override {
    bson::Value v = doc.Get("g");
    return v.type() == bson::BsonType::kInt32 && v.AsInt32() == g_;
  }

 private:
  int32_t g_;
};

class VectorIndexesTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    engine_.reset();
    auto e = Engine::Open(dir_.path(), EngineOptions{});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  void Insert(const bson::Document& d) {
    HandlePtr h = engine_->GetOrCreate("db", "c").value();
    ASSERT_TRUE(engine_->RunWrite([&](WriteTxn& t) { return t.Insert(*h, d.view()); }).ok());
  }
  void Delete(int64_t id) {
    HandlePtr h = engine_->GetOrCreate("db", "c").value();
    bson::Builder b;
    b.AppendInt64("_id", id);
    bson::Document key = std::move(b).Finish();
    ASSERT_TRUE(engine_->RunWrite([&](WriteTxn& t) -> Status {
                         AMALGAM_ASSIGN_OR_RETURN(auto doc, t.Get(*h, key.view().Get("_id"), true));
                         if (!doc) return Status::OK();
                         return t.Delete(*h, doc->view());
                       }).ok());
  }
  VectorIndexInfo WaitReady() {
    for (int i = 0; i < 2000; ++i) {
      auto all = engine_->vectors().List("db", "c");
      if (!all.empty() && all[0].status == VectorIndexStatus::kReady) return all[0];
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "index not ready";
    return {};
  }
  std::vector<int64_t> Ids(const std::vector<VectorMatch>& m) {
    std::vector<int64_t> out;
    for (const VectorMatch& x : m) out.push_back(x.doc.view().Get("_id").AsInt64());
    return out;
  }
  Result<std::vector<VectorMatch>> Search(const std::vector<float>& q, size_t k, const VectorDocFilter* f = nullptr,
                                          bool exact = false) {
    VectorQuery query;
    query.index = "vi";
    query.path = "v";
    query.vector = q;
    query.limit = k;
    query.num_candidates = 200;
    query.exact = exact;
    query.filter = f;
    return engine_->vectors().Search("db", "c", query);
  }

  storage::TestDir dir_;
  std::unique_ptr<Engine> engine_;
};

std::vector<float> RandomVector(std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> v(kDims);
  for (float& x : v) x = u(rng);
  return v;
}

VectorIndexDef Def(std::string_view similarity) {
  std::string json = R"({"fields": [{"type": "vector", "path": "v", "numDimensions": 6, "similarity": ")" +
                     std::string(similarity) + R"("}, {"type": "filter", "path": "g"}]})";
  bson::Document d = J(json);
  return ParseAtlasVectorDefinition("vi", d.view()).value();
}

TEST(VectorIndexDefTest, RejectsInvalidAtlasDefinitionsNamingTheField) {
  struct Case {
    const char* json;
    const char* fragment;
  } cases[] = {
      {R"({"fields": [{"type": "vector", "path": "v", "numDimensions": 0, "similarity": "cosine"}]})", "numDimensions"},
      {R"({"fields": [{"type": "vector", "path": "v", "numDimensions": 2.5, "similarity": "cosine"}]})", "numDimensions"},
      {R"({"fields": [{"type": "vector", "path": "v", "numDimensions": 3, "similarity": "l1"}]})", "similarity"},
      {R"({"fields": [{"type": "vector", "path": "", "numDimensions": 3, "similarity": "cosine"}]})", "path"},
      {R"({"fields": [{"type": "filter", "path": "x"}]})", "vector"},
      {R"({"fields": "x"})", "fields"},
      {R"({"fields": [], "other": 1})", "other"},
  };
  for (const Case& c : cases) {
    bson::Document d = J(c.json);
    auto r = ParseAtlasVectorDefinition("x", d.view());
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().ToString();
  }
}

TEST(VectorIndexDefTest, ReadsArraysAndBsonVectors) {
  bson::Builder b;
  uint8_t f32[2 + 8] = {0x27, 0};
  float two[2] = {1.5f, -2.0f};
  std::memcpy(f32 + 2, two, 8);
  uint8_t i8[4] = {0x03, 0, 0xff, 7};
  uint8_t bits[4] = {0x10, 6, 0xc0, 0x00};  // 10 bits: 1 1 0 0 0 0 0 0 0 0
  b.AppendBinary("f", 9, f32).AppendBinary("i", 9, i8).AppendBinary("b", 9, bits);
  b.StartArray("a").AppendInt32("0", 1).AppendDouble("1", 2.5).EndArray();
  bson::Document d = std::move(b).Finish();
  using M = index::VectorMetric;
  EXPECT_EQ(ExtractVector(d.view(), "f", 2, M::kEuclidean), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(ExtractVector(d.view(), "i", 2, M::kEuclidean), (std::vector<float>{-1.0f, 7.0f}));
  EXPECT_EQ(ExtractVector(d.view(), "b", 10, M::kEuclidean),
            (std::vector<float>{1, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(ExtractVector(d.view(), "a", 2, M::kCosine), (std::vector<float>{1.0f, 2.5f}));
  EXPECT_FALSE(ExtractVector(d.view(), "a", 3, M::kCosine));
  EXPECT_FALSE(ExtractVector(d.view(), "missing", 2, M::kCosine));
  EXPECT_DOUBLE_EQ(ExactVectorScore(M::kCosine, {1, 0}, {0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(ExactVectorScore(M::kDotProduct, {1, 0}, {0.5, 1}), 0.75);
  EXPECT_DOUBLE_EQ(ExactVectorScore(M::kEuclidean, {0, 0}, {3, 4}), 1.0 / 6);
}

// Quantized graphs keep codes only and re-score from the stored documents.
TEST_F(VectorIndexesTest, QuantizedIndexesRescoreFromTheDocuments) {
  std::mt19937 rng(23);
  std::vector<std::vector<float>> vecs;
  for (int i = 0; i < 1500; ++i) {  // past the quantizer's training sample (1024)
    vecs.push_back(RandomVector(rng));
    Insert(Doc(i, vecs.back(), i % 4));
  }
  for (std::string quant : {"scalar", "binary"}) {
    SCOPED_TRACE(quant);
    bson::Document d = J(R"({"fields": [{"type": "vector", "path": "v", "numDimensions": 6, "similarity": "euclidean",
                                          "quantization": ")" + quant + R"("}, {"type": "filter", "path": "g"}]})");
    VectorIndexDef def = ParseAtlasVectorDefinition("vi", d.view()).value();
    ASSERT_TRUE(engine_->vectors().Create("db", "c", def).ok());
    VectorIndexInfo info = WaitReady();
    EXPECT_EQ(info.vectors, 1500u);
    // Codes, links and labels only: well under the float32 vectors plus a float32 graph.
    EXPECT_LT(info.memory_bytes, 1500u * (6 * 4 + 33 * 4 + 64) + 600000u);
    GroupFilter g2(2);
    for (int t = 0; t < 5; ++t) {
      std::vector<float> q = RandomVector(rng);
      for (const VectorDocFilter* f : {static_cast<const VectorDocFilter*>(nullptr), static_cast<const VectorDocFilter*>(&g2)}) {
        std::vector<std::pair<double, int64_t>> all;
        for (int i = 0; i < 1500; ++i) {
          if (f && i % 4 != 2) continue;
          all.emplace_back(ExactVectorScore(index::VectorMetric::kEuclidean, q, vecs[i]), i);
        }
        std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first > b.first; });
        auto exact = Search(q, 10, f, true);  // ENN reads every vector from the documents
        ASSERT_TRUE(exact.ok()) << exact.status().ToString();
        ASSERT_EQ(exact->size(), 10u);
        for (size_t i = 0; i < 10; ++i) EXPECT_EQ(Ids(*exact)[i], all[i].second);
        auto ann = Search(q, 10, f);
        ASSERT_TRUE(ann.ok()) << ann.status().ToString();
        ASSERT_EQ(ann->size(), 10u);
        size_t overlap = 0;
        for (size_t i = 0; i < 10; ++i) {
          int64_t id = Ids(*ann)[i];
          EXPECT_NEAR((*ann)[i].score, ExactVectorScore(index::VectorMetric::kEuclidean, q, vecs[id]), 1e-9);
          for (size_t j = 0; j < 10; ++j) overlap += all[j].second == id;
        }
        // Six dimensions: 6 bits per vector cannot order 1500 points, int8 codes nearly can.
        EXPECT_GE(overlap, quant == "scalar" ? 9u : 5u);
      }
    }
    // Deleted documents are never returned.
    Delete(3);
    auto r = Search(vecs[3], 5);
    ASSERT_TRUE(r.ok());
    for (int64_t id : Ids(*r)) EXPECT_NE(id, 3);
    Insert(Doc(3, vecs[3], 3));
    // Saved without float32 vectors, reloaded without a rebuild, same answers.
    auto before = Search(vecs[7], 10);
    ASSERT_TRUE(before.ok());
    ASSERT_TRUE(engine_->vectors().WaitCaughtUp("db", "c", std::chrono::seconds(10)));
    Reopen();
    auto after_info = engine_->vectors().List("db", "c");
    ASSERT_EQ(after_info.size(), 1u);
    EXPECT_TRUE(after_info[0].loaded_from_disk);
    EXPECT_EQ(after_info[0].builds, 0u);
    auto after = Search(vecs[7], 10);
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(Ids(*after), Ids(*before));
    ASSERT_TRUE(engine_->vectors().Drop("db", "c", "vi").ok());
  }
}

TEST_F(VectorIndexesTest, BuildsSearchesFreshAndReloadsWithoutRebuild) {
  std::mt19937 rng(17);
  std::vector<std::vector<float>> vecs;
  for (int i = 0; i < 400; ++i) {
    vecs.push_back(RandomVector(rng));
    Insert(Doc(i, vecs.back(), i % 4));
  }
  EXPECT_EQ(engine_->vectors().Create("nodb", "c", Def("euclidean")).status().code(), ErrorCode::kNamespaceNotFound);
  ASSERT_TRUE(engine_->vectors().Create("db", "c", Def("euclidean")).ok());
  EXPECT_EQ(engine_->vectors().Create("db", "c", Def("euclidean")).status().code(), ErrorCode::kIndexAlreadyExists);
  VectorIndexInfo info = WaitReady();
  EXPECT_EQ(info.vectors, 400u);
  EXPECT_EQ(info.builds, 1u);

  // Against brute force, with and without a filter.
  GroupFilter g2(2);
  for (int t = 0; t < 5; ++t) {
    std::vector<float> q = RandomVector(rng);
    for (const VectorDocFilter* f : {static_cast<const VectorDocFilter*>(nullptr), static_cast<const VectorDocFilter*>(&g2)}) {
      std::vector<std::pair<double, int64_t>> all;
      for (int i = 0; i < 400; ++i) {
        if (f && i % 4 != 2) continue;
        all.emplace_back(ExactVectorScore(index::VectorMetric::kEuclidean, q, vecs[i]), i);
      }
      std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.first > b.first; });
      auto exact = Search(q, 10, f, true);
      ASSERT_TRUE(exact.ok()) << exact.status().ToString();
      ASSERT_EQ(exact->size(), 10u);
      for (size_t i = 0; i < 10; ++i) {
        EXPECT_EQ(Ids(*exact)[i], all[i].second);
        EXPECT_NEAR((*exact)[i].score, all[i].first, 1e-9);
      }
      auto ann = Search(q, 10, f);
      ASSERT_TRUE(ann.ok());
      size_t overlap = 0;
      for (int64_t id : Ids(*ann)) {
        for (size_t i = 0; i < 10; ++i) overlap += all[i].second == id;
      }
      EXPECT_GE(overlap, 9u);
    }
  }

  // Fresh: a write is visible to the next search, a delete never returned.
  for (int i = 0; i < 20; ++i) {
    std::vector<float> v = RandomVector(rng);
    Insert(Doc(1000 + i, v, 1));
    auto r = Search(v, 1);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(Ids(*r), std::vector<int64_t>{1000 + i});
    EXPECT_DOUBLE_EQ((*r)[0].score, 1.0);
    Delete(1000 + i);
    r = Search(v, 5);
    ASSERT_TRUE(r.ok());
    std::vector<int64_t> ids = Ids(*r);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 1000 + i), 0);
  }
  auto wrong = Search(std::vector<float>(kDims + 1, 1.0f), 3);
  EXPECT_EQ(wrong.status().code(), ErrorCode::kBadValue);
  VectorQuery unknown;
  unknown.index = "nope";
  unknown.path = "v";
  unknown.vector = vecs[0];
  EXPECT_TRUE(engine_->vectors().Search("db", "c", unknown)->empty());

  auto before = Search(vecs[7], 10);
  ASSERT_TRUE(before.ok());
  Reopen();
  auto after_info = engine_->vectors().List("db", "c");
  ASSERT_EQ(after_info.size(), 1u);
  EXPECT_EQ(after_info[0].status, VectorIndexStatus::kReady);
  EXPECT_TRUE(after_info[0].loaded_from_disk);
  EXPECT_EQ(after_info[0].builds, 0u);
  EXPECT_EQ(after_info[0].id, info.id);
  auto after = Search(vecs[7], 10);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(Ids(*after), Ids(*before));

  // Dropping the collection drops the index.
  ASSERT_TRUE(engine_->DropCollection("db", "c").ok());
  Insert(Doc(1, vecs[1], 0));
  EXPECT_TRUE(engine_->vectors().List("db", "c").empty());
  EXPECT_TRUE(Search(vecs[1], 1)->empty());
}

}  // namespace
}  // namespace amalgam::engine
