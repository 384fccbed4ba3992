#pragma once
// The only way untrusted bytes become a DocView: a full, bounds-checked validation that never
// trusts a length field and never recurses (an explicit stack bounds the depth).

#include <cstdint>
#include <span>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::bson {

// MongoDB's limits.
inline constexpr uint32_t kMaxUserDocumentSize = 16 * 1024 * 1024;  // BSONObjMaxUserSize
inline constexpr uint32_t kMaxInternalDocumentSize = kMaxUserDocumentSize + 16 * 1024;
inline constexpr int kMaxWireDepth = 200;    // nesting accepted from the wire
inline constexpr int kMaxStorageDepth = 100; // nesting accepted in stored documents

struct ValidateOptions {
  uint32_t max_size = kMaxInternalDocumentSize;
  int max_depth = kMaxWireDepth;  // the top-level document is depth 1
  bool check_utf8 = false;        // MongoDB stores strings as given; opt in where needed
};

// Checks that `bytes` begin with one complete, well-formed BSON document and returns a view of
// it (bytes after the document are ignored; the view's size() says where it ends).
// Errors: kInvalidBSON naming what is wrong and the byte offset; kBSONObjectTooLarge when the
// declared size exceeds options.max_size; kOverflow when nesting exceeds options.max_depth.
// The returned view borrows `bytes`.
Result<DocView> ValidateDocument(std::span<const uint8_t> bytes, const ValidateOptions& options = {});

// Checks that `text` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace amalgam::bson
