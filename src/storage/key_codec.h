#pragma once
// Order-preserving key encoding of BSON values and compound index keys: the bytewise order of
// encoded keys equals MongoDB's order (bson::CompareValues). The format is persisted and
// specified byte by byte in docs/key-encoding.md.
//
// Encoding produces two byte strings: the key (ordered; values that compare equal, such as 5,
// 5L, 5.0 and decimal 5.00, give identical keys) and the "type bits" (what the key leaves out:
// which numeric type, string or symbol, ...), which the caller stores beside the key. Key plus
// type bits decode to byte-identical BSON.
//
// All functions are pure: thread-safe, no shared state. Decoding treats its input as untrusted
// (bytes from disk): it never reads out of bounds, bounds its recursion, and reports bad bytes
// as kDataCorruption.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bson/builder.h"
#include "bson/document.h"
#include "common/result.h"

namespace amalgam::storage {

// The direction of one component of a compound key (an index key pattern's 1 / -1).
enum class Direction : uint8_t { kAscending = 0, kDescending = 1 };

// Appends the encoding of `v` to *key and its type-bits entries to *typebits. A descending value
// is encoded with every byte complemented, which reverses its order. `v` may be missing (a
// default Value): it encodes like undefined, and its type bits remember that it was missing.
// Appending values one after another builds a compound key; pass each component's direction.
// REQUIRES: key and typebits non-null; `v` points into validated BSON (bson/validate.h), whose
// nesting bound also bounds this function's recursion.
void AppendValue(std::string* key, std::string* typebits, const bson::Value& v, bool descending);

struct EncodedKey {
  std::string key;
  std::string typebits;  // trimmed (see TrimTypeBits)
};

// Encodes one value. REQUIRES: as AppendValue.
EncodedKey EncodeValue(const bson::Value& v, bool descending = false);
// Encodes a compound key: values[i] with directions[i].
// REQUIRES: values.size() == directions.size(); values as for AppendValue.
EncodedKey EncodeKey(std::span<const bson::Value> values, std::span<const Direction> directions);

// Drops trailing 0x00 bytes from type bits. TypeBitsReader reads past the end as 0x00, so the
// trimmed form decodes identically; a key needing only default entries stores empty type bits.
void TrimTypeBits(std::string* typebits);

// Sequential reader over type bits. Borrows `bits`, which must outlive the reader.
// Not thread-safe (one reader per decode).
class TypeBitsReader {
 public:
  explicit TypeBitsReader(std::string_view bits) : bits_(bits) {}

  // The next byte, or 0x00 past the end (see TrimTypeBits).
  uint8_t ReadByte() { return pos_ < bits_.size() ? static_cast<uint8_t>(bits_[pos_++]) : 0; }
  // True when every byte has been read.
  bool AtEnd() const { return pos_ >= bits_.size(); }

 private:
  std::string_view bits_;
  size_t pos_ = 0;
};

// Decodes one value from the front of *key (advancing it past the value) and appends it to
// `out` under `field_name`, taking its type-bits entries from `bits`. A value that was missing
// when encoded appends nothing. `descending` must match the direction it was encoded with.
// `depth` is the nesting depth of the document `out` is currently writing (1 for a top-level
// Builder); nested documents and arrays may take it up to bson::kMaxWireDepth.
// Errors: kDataCorruption when the bytes are not a valid encoding, do not fit the type bits, or
// nest too deeply. On error *key and `bits` are left at an unspecified position and `out` holds
// a partial value: discard it.
// REQUIRES: field_name holds no NUL byte.
Status DecodeValue(std::string_view* key, TypeBitsReader& bits, bool descending, bson::Builder& out,
                   std::string_view field_name, int depth = 1);

// Decodes a whole compound key into a document {"0": component 0, "1": component 1, ...}; a
// missing component leaves its field out. Errors: kDataCorruption as DecodeValue, and also when
// key or type-bits bytes remain after the last component.
Result<bson::Document> DecodeKey(std::string_view key, std::string_view typebits,
                                 std::span<const Direction> directions);

// Fixed-width big-endian unsigned integers, for id prefixes whose numeric order must be the
// byte order.
void AppendUint64BE(std::string* out, uint64_t v);
// Reads 8 bytes from the front of *in and advances it. Returns false (and leaves *in unchanged)
// when fewer than 8 bytes remain.
bool ReadUint64BE(std::string_view* in, uint64_t* out);

}  // namespace amalgam::storage
