// Reading vectors out of documents and query arguments (engine/vector_index_def.h): arrays of
// doubles, int32s and int64s take a direct path over the bytes; any other element type goes
// through the generic element walk, which must give the same answer.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bson/builder.h"
#include "bson/json.h"
#include "engine/vector_index_def.h"

namespace amalgam::engine {
namespace {

using M = index::VectorMetric;

bson::Document Json(std::string_view j) {
  Result<bson::Document> d = bson::FromJson(j);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : bson::Document();
}

TEST(VectorParseTest, MixedIntegerAndDoubleArraysConvertLikeTheGenericWalk) {
  bson::Builder b;
  b.StartArray("v")
      .AppendDouble("0", 0.1)
      .AppendInt32("1", -3)
      .AppendInt64("2", int64_t{1} << 40)
      .AppendDouble("3", -1e-3)
      .EndArray();
  bson::Document d = std::move(b).Finish();
  std::vector<float> want{static_cast<float>(0.1), -3.0f, static_cast<float>(double(int64_t{1} << 40)),
                          static_cast<float>(-1e-3)};
  EXPECT_EQ(ExtractVector(d.view(), "v", 4, M::kEuclidean), want);
  Result<std::vector<float>> q = VectorFromValue(d.view().Get("v"), "queryVector");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q.value(), want);
}

TEST(VectorParseTest, OtherNumericTypesFallBackToTheGenericWalk) {
  bson::Document d = Json(R"({"v": [1.5, {"$numberDecimal": "2.25"}, 3]})");
  EXPECT_EQ(ExtractVector(d.view(), "v", 3, M::kEuclidean), (std::vector<float>{1.5f, 2.25f, 3.0f}));
}

TEST(VectorParseTest, NonNumbersAndNonFiniteValuesAreRejected) {
  bson::Document d = Json(R"({"s": [1.0, "x"], "e": [], "n": [1.0, null]})");
  EXPECT_FALSE(ExtractVector(d.view(), "s", 2, M::kEuclidean));
  EXPECT_FALSE(ExtractVector(d.view(), "n", 2, M::kEuclidean));
  EXPECT_FALSE(VectorFromValue(d.view().Get("s"), "queryVector").ok());
  Result<std::vector<float>> empty = VectorFromValue(d.view().Get("e"), "queryVector");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.value().empty());
  bson::Builder b;
  b.StartArray("v").AppendDouble("0", 1.0).AppendDouble("1", std::numeric_limits<double>::infinity()).EndArray();
  bson::Document inf = std::move(b).Finish();
  EXPECT_FALSE(ExtractVector(inf.view(), "v", 2, M::kEuclidean));
  EXPECT_FALSE(VectorFromValue(inf.view().Get("v"), "queryVector").ok());
  // A double too large for float32 becomes infinite: not a usable vector either.
  bson::Builder big;
  big.StartArray("v").AppendDouble("0", 1e300).EndArray();
  bson::Document huge = std::move(big).Finish();
  EXPECT_FALSE(ExtractVector(huge.view(), "v", 1, M::kEuclidean));
}

TEST(VectorParseTest, ExactScoresPerMetric) {
  std::vector<float> q{1, 2, 2}, v{2, 4, 4};
  EXPECT_DOUBLE_EQ(ExactVectorScore(M::kCosine, q, v), 1.0);
  EXPECT_DOUBLE_EQ(ExactVectorScore(M::kDotProduct, q, v), (1 + 18.0) / 2);
  EXPECT_DOUBLE_EQ(ExactVectorScore(M::kEuclidean, q, v), 1 / (1 + 3.0));
  EXPECT_DOUBLE_EQ(ExactVectorScore(M::kCosine, {1, 0}, {-1, 0}), 0.0);
}

}  // namespace
}  // namespace amalgam::engine
