#include <gtest/gtest.h>

#include <set>

#include "common/result.h"
#include "common/status.h"

namespace amalgam {
namespace {

TEST(StatusTest, OkIsDefaultAndCarriesNoMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorKeepsCodeAndMessageThroughCopyAndContext) {
  Status s(ErrorCode::kDuplicateKey, "dup");
  Status copy = s;
  EXPECT_FALSE(copy.ok());
  EXPECT_EQ(copy.code(), ErrorCode::kDuplicateKey);
  Status ctx = copy.WithContext("insert");
  EXPECT_EQ(ctx.message(), "insert: dup");
  EXPECT_EQ(ctx.ToString(), "DuplicateKey: insert: dup");
}

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  AMALGAM_ASSIGN_OR_RETURN(int h, Half(x));
  AMALGAM_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(Quarter(8).value(), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kBadValue);
}

TEST(ErrorCodeRegistryTest, EveryRowMapsToBothFaces) {
  std::set<std::string_view> names;
  for (const ErrorCodeInfo& row : AllErrorCodes()) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_GT(row.mongo_code, 0) << row.name;
    EXPECT_FALSE(row.mongo_code_name.empty()) << row.name;
    EXPECT_FALSE(row.dynamo_type.empty()) << row.name;
    EXPECT_EQ(&GetErrorCodeInfo(row.code), &row) << row.name;
  }
  EXPECT_GT(names.size(), 30u);
}

}  // namespace
}  // namespace amalgam
