#pragma once
// Cursors over one collection's documents (in _id order) and over one index's entries (in key
// order). Both read a snapshot (a ReadView's, or a WriteTxn's snapshot plus its own writes).
// Not thread-safe; must not outlive the view or transaction that created them.

#include <memory>
#include <string>
#include <string_view>

#include "bson/document.h"
#include "common/result.h"
#include "storage/iterator.h"

namespace amalgam::engine {

class DocumentCursor {
 public:
  // `prefix` is the collection's key prefix; the iterator is bounded to it.
  DocumentCursor(std::unique_ptr<storage::Iterator> it, bool forward);
  // Advances to the next document. Returns false at the end or on error (see status()).
  // The view stays valid until the next call.
  bool Next(bson::DocView* doc);
  // The encoded _id of the current document.
  std::string_view encoded_id() const;
  Status status() const { return status_; }

 private:
  std::unique_ptr<storage::Iterator> it_;
  bool forward_;
  bool started_ = false;
  Status status_;
};

struct IndexCursorEntry {
  std::string_view index_key;   // encoded key, without the index prefix
  std::string_view encoded_id;  // for fetching the document
  std::string_view typebits;
};

class IndexCursor {
 public:
  IndexCursor(std::unique_ptr<storage::Iterator> it, bool unique, bool forward);
  bool Next(IndexCursorEntry* entry);
  Status status() const { return status_; }

 private:
  std::unique_ptr<storage::Iterator> it_;
  bool unique_;
  bool forward_;
  bool started_ = false;
  Status status_;
};

}  // namespace amalgam::engine
