#pragma once
// Dotted field paths ("a.b.0.c") and lookups along them.

#include <string>
#include <string_view>
#include <vector>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::bson {

inline constexpr size_t kMaxPathParts = 200;

class FieldPath {
 public:
  // Splits on '.'. Errors (kBadValue): empty path, empty part ("a..b", ".a", "a."), more than
  // kMaxPathParts parts, or an embedded NUL.
  static Result<FieldPath> Parse(std::string_view dotted);

  const std::string& dotted() const { return dotted_; }
  size_t size() const { return parts_.size(); }
  std::string_view part(size_t i) const { return parts_[i]; }
  const std::vector<std::string_view>& parts() const { return parts_; }

  FieldPath(const FieldPath& other) { *this = other; }
  FieldPath& operator=(const FieldPath& other);
  // Moves re-split: parts_ views into dotted_, whose bytes move when the string is short.
  FieldPath(FieldPath&& other) noexcept : dotted_(std::move(other.dotted_)) { Split(); }
  FieldPath& operator=(FieldPath&& other) noexcept {
    dotted_ = std::move(other.dotted_);
    Split();
    return *this;
  }

 private:
  FieldPath() = default;
  void Split();
  std::string dotted_;
  std::vector<std::string_view> parts_;  // views into dotted_
};

// True if `part` is a non-negative decimal array index without leading zeros ("0", "12").
bool IsArrayIndex(std::string_view part, size_t* index);

// Follows `path` without implicit array traversal: each part selects a document field or, in an
// array, the element at that index. Returns a missing Value when a step does not exist.
Value GetPath(DocView doc, const FieldPath& path);

}  // namespace amalgam::bson
