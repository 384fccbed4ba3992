#include "api/dynamo/model/scan_segments.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>

namespace amalgam::dynamo {
namespace {

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "k%06d", i);
  return buf;
}

// The segment that holds `key`, checking that exactly one does.
int SegmentOf(const std::vector<std::string>& splits, int64_t total, const std::string& key) {
  int found = -1;
  for (int64_t s = 0; s < total; ++s) {
    SegmentBounds b = SegmentRange(splits, s, total);
    if (key >= b.lower && (!b.upper || key < *b.upper)) {
      EXPECT_EQ(found, -1) << key << " is in segments " << found << " and " << s;
      found = static_cast<int>(s);
    }
  }
  EXPECT_NE(found, -1) << key << " is in no segment";
  return found;
}

TEST(ScanSegmentsTest, SamplerIsDeterministicAndBounded) {
  KeySampler a(8), b(8);
  for (int i = 0; i < 1000; ++i) {
    a.Add(Key(i));
    b.Add(Key(i));
  }
  EXPECT_EQ(a.count(), 1000u);
  EXPECT_EQ(a.Splits(), b.Splits());
  std::vector<std::string> splits = a.Splits();
  EXPECT_GE(splits.size(), 7u);
  EXPECT_LE(splits.size(), 16u);
  for (size_t i = 1; i < splits.size(); ++i) EXPECT_LT(splits[i - 1], splits[i]);
  // Evenly spaced: every kept key sits at a multiple of the stride.
  EXPECT_EQ(splits[0], Key(128));
  EXPECT_EQ(splits[1], Key(256));
}

TEST(ScanSegmentsTest, SmallInputsKeepEverything) {
  KeySampler s(8);
  EXPECT_TRUE(s.Splits().empty());
  s.Add("a");
  EXPECT_TRUE(s.Splits().empty());  // the first key never splits
  s.Add("b");
  s.Add("c");
  EXPECT_EQ(s.Splits(), (std::vector<std::string>{"b", "c"}));
}

TEST(ScanSegmentsTest, SegmentsAreDisjointCoverEverythingAndBalance) {
  KeySampler sampler(64);
  for (int i = 0; i < 5000; ++i) sampler.Add(Key(i));
  std::vector<std::string> splits = sampler.Splits();
  for (int64_t total : {1, 2, 3, 4, 7, 16, 100}) {
    std::map<int, int> sizes;
    for (int i = 0; i < 5000; ++i) ++sizes[SegmentOf(splits, total, Key(i))];
    if (total <= 16) {
      ASSERT_EQ(sizes.size(), static_cast<size_t>(total)) << total;
      for (auto [seg, n] : sizes) {
        EXPECT_GT(n, 5000 / total / 2) << "segment " << seg << " of " << total;
        EXPECT_LT(n, 5000 / total * 2) << "segment " << seg << " of " << total;
      }
    }
  }
  // Keys outside the sampled ones (written later) still fall in exactly one
  // segment.
  for (const char* k : {"", "a", "k", "k000064", "k0000645", "zzz", "\xff\xff"})
    SegmentOf(splits, 7, k);
}

TEST(ScanSegmentsTest, MoreSegmentsThanPieces) {
  std::vector<std::string> splits = {"m"};
  std::set<int> used;
  for (const char* k : {"a", "m", "z"}) used.insert(SegmentOf(splits, 1000000, k));
  EXPECT_EQ(used.size(), 2u);
  // No splits at all: one segment holds the table, the others are empty.
  EXPECT_EQ(SegmentOf({}, 4, "x"), 3);
  SegmentBounds empty = SegmentRange({}, 0, 4);
  EXPECT_EQ(empty.lower, "");
  ASSERT_TRUE(empty.upper.has_value());
  EXPECT_EQ(*empty.upper, "");
}

}  // namespace
}  // namespace amalgam::dynamo
