#pragma once
// Iterator: an ordered cursor over one column family, bounded to [lower, upper). Created by
// Store or Txn; reads the snapshot it was created with (a Txn's iterator also sees that Txn's
// own uncommitted writes). Not thread-safe; must not outlive its Store or Txn.

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace amalgam::storage {

class Iterator {
 public:
  struct Impl;
  explicit Iterator(std::unique_ptr<Impl> impl);
  ~Iterator();
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;

  // Positions at the first key >= target (clamped to the bounds).
  void Seek(std::string_view target);
  // Positions at the last key <= target.
  void SeekForPrev(std::string_view target);
  void SeekToFirst();
  void SeekToLast();
  void Next();
  void Prev();
  bool Valid() const;
  // REQUIRES: Valid(). The views stay valid until the iterator moves.
  std::string_view key() const;
  std::string_view value() const;
  // Non-OK if iteration stopped on an error (kIOError, kDataCorruption) rather than the end.
  Status status() const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace amalgam::storage
