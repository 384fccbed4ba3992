#pragma once
// WriteErrors: the writeErrors array of insert, update and delete replies
// ([{index, code, errmsg}]), built as values while the batch goes on. Not thread-safe.

#include <string>
#include <vector>

#include "bson/builder.h"
#include "common/status.h"

namespace amalgam::api::mongo {

class WriteErrors {
 public:
  void Add(size_t index, const Status& status);
  bool empty() const { return errors_.empty(); }
  // Appends "writeErrors": [...] to `reply` when there are any.
  void AppendTo(bson::Builder& reply) const;

 private:
  struct Entry {
    size_t index;
    Status status;
  };
  std::vector<Entry> errors_;
};

// Whether a failed write should stop the whole command (an I/O or internal error) rather than
// become a write error of one operation.
inline bool FailsWholeBatch(const Status& s) {
  return s.category() == ErrorCategory::kIO || s.category() == ErrorCategory::kInternal;
}

}  // namespace amalgam::api::mongo
