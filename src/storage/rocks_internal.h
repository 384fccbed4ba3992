#pragma once
// Private to storage/ (.cc files only): translation of RocksDB statuses into Amalgam statuses,
// and the state behind storage::Iterator.

#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <memory>
#include <string>

#include "common/status.h"
#include "storage/iterator.h"

namespace amalgam::storage {

inline Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return Status(ErrorCode::kWriteConflict,
                  std::string(what) + ": write conflict with a concurrent operation");
  }
  if (s.IsCorruption()) return Status(ErrorCode::kDataCorruption, std::move(msg));
  if (s.IsIOError() || s.IsNoSpace()) return Status(ErrorCode::kIOError, std::move(msg));
  return Status(ErrorCode::kInternalError, std::move(msg));
}

struct Iterator::Impl {
  std::string lower, upper;
  rocksdb::Slice lower_slice, upper_slice;
  std::unique_ptr<rocksdb::Iterator> it;
};

// Creates the state of a bounded iterator and points `ro` at its bounds (which live in the
// returned Impl, so the Impl must outlive the RocksDB iterator created with `ro`).
inline std::unique_ptr<Iterator::Impl> MakeBoundedImpl(std::string lower, std::string upper,
                                                       rocksdb::ReadOptions* ro) {
  auto impl = std::make_unique<Iterator::Impl>();
  impl->lower = std::move(lower);
  impl->upper = std::move(upper);
  impl->lower_slice = rocksdb::Slice(impl->lower);
  impl->upper_slice = rocksdb::Slice(impl->upper);
  if (!impl->lower.empty()) ro->iterate_lower_bound = &impl->lower_slice;
  if (!impl->upper.empty()) ro->iterate_upper_bound = &impl->upper_slice;
  return impl;
}

}  // namespace amalgam::storage
