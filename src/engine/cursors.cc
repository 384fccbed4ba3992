#include "engine/cursors.h"

#include "bson/validate.h"
#include "index/index_entry.h"

namespace amalgam::engine {

DocumentCursor::DocumentCursor(std::unique_ptr<storage::Iterator> it, bool forward)
    : it_(std::move(it)), forward_(forward) {}

bool DocumentCursor::Next(bson::DocView* doc) {
  if (!status_.ok()) return false;
  if (!started_) {
    started_ = true;
    forward_ ? it_->SeekToFirst() : it_->SeekToLast();
  } else {
    forward_ ? it_->Next() : it_->Prev();
  }
  if (!it_->Valid()) {
    status_ = it_->status();
    return false;
  }
  std::string_view v = it_->value();
  // Stored documents were validated on the way in; a cheap size check catches torn values.
  if (v.size() < 5 || static_cast<uint8_t>(v[0]) + (static_cast<uint8_t>(v[1]) << 8) +
                              (static_cast<uint8_t>(v[2]) << 16) + (static_cast<uint32_t>(static_cast<uint8_t>(v[3])) << 24) !=
                          v.size()) {
    status_ = Status(ErrorCode::kDataCorruption, "stored document has an inconsistent length");
    return false;
  }
  *doc = bson::DocView(reinterpret_cast<const uint8_t*>(v.data()), static_cast<uint32_t>(v.size()));
  return true;
}

std::string_view DocumentCursor::encoded_id() const { return it_->key().substr(8); }

IndexCursor::IndexCursor(std::unique_ptr<storage::Iterator> it, bool unique, bool forward)
    : it_(std::move(it)), unique_(unique), forward_(forward) {}

bool IndexCursor::Next(IndexCursorEntry* entry) {
  if (!status_.ok()) return false;
  if (!started_) {
    started_ = true;
    forward_ ? it_->SeekToFirst() : it_->SeekToLast();
  } else {
    forward_ ? it_->Next() : it_->Prev();
  }
  if (!it_->Valid()) {
    status_ = it_->status();
    return false;
  }
  auto parsed = index::ParseIndexEntry(unique_, it_->key(), it_->value());
  if (!parsed.ok()) {
    status_ = parsed.status();
    return false;
  }
  entry->index_key = parsed->index_key;
  entry->encoded_id = parsed->encoded_id;
  entry->typebits = parsed->typebits;
  return true;
}

}  // namespace amalgam::engine
