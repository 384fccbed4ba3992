#include "api/dynamo/model/scan_segments.h"

namespace amalgam::dynamo {

void KeySampler::Add(std::string_view key) {
  if (count_ % stride_ == 0) {
    kept_.emplace_back(key);
    if (kept_.size() >= 2 * max_) {
      // Keep positions that are multiples of the doubled stride: every other
      // kept key.
      size_t out = 0;
      for (size_t i = 0; i < kept_.size(); i += 2) kept_[out++] = std::move(kept_[i]);
      kept_.resize(out);
      stride_ *= 2;
    }
  }
  ++count_;
}

std::vector<std::string> KeySampler::Splits() const {
  if (kept_.size() <= 1) return {};
  return std::vector<std::string>(kept_.begin() + 1, kept_.end());
}

SegmentBounds SegmentRange(const std::vector<std::string>& splits, int64_t segment, int64_t total) {
  // Piece j (0..n) is [splits[j-1], splits[j]) with splits[-1] = -inf and
  // splits[n] = +inf; segment i takes pieces [i*(n+1)/total,
  // (i+1)*(n+1)/total).
  const uint64_t pieces = splits.size() + 1;
  // Boundary i is where segment i starts; "" (below every key) for the pieces'
  // start.
  auto boundary = [&](int64_t i) -> std::string {
    uint64_t j = static_cast<uint64_t>(i) * pieces / static_cast<uint64_t>(total);
    return j == 0 ? std::string() : splits[j - 1];
  };
  SegmentBounds b;
  b.lower = boundary(segment);
  if (segment + 1 < total) b.upper = boundary(segment + 1);
  return b;
}

}  // namespace amalgam::dynamo
