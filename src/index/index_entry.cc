#include "index/index_entry.h"

#include "storage/store.h"

namespace amalgam::index {

std::string IndexPrefix(uint64_t index_id) {
  std::string p;
  storage::AppendUint64BE(&p, index_id);
  return p;
}

IndexEntry MakeIndexEntry(uint64_t index_id, bool unique, const storage::EncodedKey& key, std::string_view encoded_id) {
  IndexEntry e;
  e.key.reserve(8 + key.key.size() + encoded_id.size());
  storage::AppendUint64BE(&e.key, index_id);
  e.key += key.key;
  uint16_t len = static_cast<uint16_t>(encoded_id.size());
  e.value.push_back(static_cast<char>(len >> 8));
  e.value.push_back(static_cast<char>(len & 0xFF));
  if (unique) {
    e.value += encoded_id;
  } else {
    e.key += encoded_id;
  }
  e.value += key.typebits;
  return e;
}

Result<ParsedIndexEntry> ParseIndexEntry(bool unique, std::string_view key, std::string_view value) {
  if (key.size() < 8 || value.size() < 2) return Status(ErrorCode::kDataCorruption, "index entry too short");
  size_t len = (static_cast<uint8_t>(value[0]) << 8) | static_cast<uint8_t>(value[1]);
  ParsedIndexEntry p;
  std::string_view rest_key = key.substr(8);
  std::string_view rest_value = value.substr(2);
  if (unique) {
    if (rest_value.size() < len) return Status(ErrorCode::kDataCorruption, "unique index entry: _id overruns the value");
    p.index_key = rest_key;
    p.encoded_id = rest_value.substr(0, len);
    p.typebits = rest_value.substr(len);
  } else {
    if (rest_key.size() < len) return Status(ErrorCode::kDataCorruption, "index entry: _id overruns the key");
    p.index_key = rest_key.substr(0, rest_key.size() - len);
    p.encoded_id = rest_key.substr(rest_key.size() - len);
    p.typebits = rest_value;
  }
  return p;
}

std::pair<std::string, std::string> IndexScanRange(uint64_t index_id, std::string_view lower, std::string_view upper) {
  std::string prefix = IndexPrefix(index_id);
  std::string hi = upper.empty() ? storage::PrefixSuccessor(prefix) : prefix + std::string(upper);
  return {prefix + std::string(lower), std::move(hi)};
}

std::string DocumentKey(uint64_t collection_id, std::string_view encoded_id) {
  std::string k;
  k.reserve(8 + encoded_id.size());
  storage::AppendUint64BE(&k, collection_id);
  k += encoded_id;
  return k;
}

}  // namespace amalgam::index
