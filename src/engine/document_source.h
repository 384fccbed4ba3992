#pragma once
// DocumentSource: a pull-based stream of result documents (a query plan, an aggregation
// pipeline, a change stream). What a client cursor holds between batches.
// Not thread-safe; used by one request at a time.

#include <chrono>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::engine {

class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  // Produces the next document into *out. Returns false at the end of the stream.
  // Errors: whatever the plan hits (kIOError, kMaxTimeMSExpired, ...).
  virtual Result<bool> Next(bson::Document* out) = 0;
  // Makes Next fail with kMaxTimeMSExpired once `deadline` passes (time_point::max(): never).
  // Sources that cannot run long may ignore it.
  virtual void SetDeadline(std::chrono::steady_clock::time_point deadline) {}
};

}  // namespace amalgam::engine
