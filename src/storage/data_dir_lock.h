#pragma once
// DataDirLock: the one-process-per-data-directory guarantee. Holds an exclusive flock() on
// DIR/amalgamd.lock (with the holder's pid written in it) for its lifetime; the kernel releases
// the lock if the process dies, so a crash never leaves the directory locked.

#include <memory>
#include <string>

#include "common/result.h"

namespace amalgam::storage {

class DataDirLock {
 public:
  // Creates `dir` if missing and locks it. Errors: kDataDirLocked naming the directory and the
  // pid of the holder; kIOError if the directory or lock file cannot be created.
  static Result<std::unique_ptr<DataDirLock>> Acquire(const std::string& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace amalgam::storage
