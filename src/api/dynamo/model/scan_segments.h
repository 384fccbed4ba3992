#pragma once
// Parallel Scan segments (Segment / TotalSegments) as contiguous ranges of a table's key order.
//
// DynamoDB divides a table into TotalSegments logically equal portions "for the duration of the
// Scan"; a worker pages through its segment with ExclusiveStartKey. Amalgam stores a table in
// `_id` order, so a segment is one contiguous range of encoded `_id`s and a worker reads only
// that range. The ranges come from split points sampled from the table's keys (KeySampler): any
// split points give disjoint segments whose union is the whole key space; points sampled over
// the data give segments of about equal item counts. The same split points must serve every page
// of every segment of one parallel scan (the caller caches them: src/api/dynamo/query_scan.cc).
//
// API (pure, no I/O):
//   KeySampler s(max); s.Add(key)...; s.Splits()   every stride-th key, deterministic
//   SegmentRange(splits, segment, total)            the [lower, upper) of one segment

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace amalgam::dynamo {

// Keeps keys at positions 0, s, 2s, ... of the sequence it is fed (s doubles
// whenever more than 2 * max_samples would be kept), so the same keys in the
// same order give the same sample. Not thread-safe.
class KeySampler {
 public:
  explicit KeySampler(size_t max_samples) : max_(max_samples < 1 ? 1 : max_samples) {}
  // REQUIRES: keys are added in strictly increasing order.
  void Add(std::string_view key);
  // The split points: the sampled keys except the first key of the sequence (a
  // split at the very first key would only make the first segment empty).
  // Ascending, at most 2 * max_samples.
  std::vector<std::string> Splits() const;
  uint64_t count() const { return count_; }

 private:
  size_t max_;
  uint64_t stride_ = 1;
  uint64_t count_ = 0;
  std::vector<std::string> kept_;
};

// The key range [lower, upper) of `segment`, keys compared as unsigned byte
// strings: lower "" is the start of the key space, upper nullopt its end (upper
// "" makes the segment empty). The sorted, distinct `splits` cut the key space
// into splits.size() + 1 pieces, dealt out to segments in order, as evenly as
// possible; when there are more segments than pieces, some segments are empty
// (lower == upper). Segments are disjoint and together cover every key.
// REQUIRES: 0 <= segment < total.
struct SegmentBounds {
  std::string lower;
  std::optional<std::string> upper;
};
SegmentBounds SegmentRange(const std::vector<std::string>& splits, int64_t segment, int64_t total);

}  // namespace amalgam::dynamo
