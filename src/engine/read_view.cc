#include "engine/read_view.h"

#include "index/index_entry.h"
#include "storage/key_codec.h"

namespace amalgam::engine {

Result<std::optional<bson::Document>> ReadView::Get(const CollectionHandle& coll, const bson::Value& id) {
  return GetByEncodedId(coll, storage::EncodeValue(id).key);
}

Result<std::optional<bson::Document>> ReadView::GetByEncodedId(const CollectionHandle& coll, std::string_view encoded_id) {
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           store_.Get(storage::Cf::kDocuments, index::DocumentKey(coll.info->id, encoded_id), snapshot_.get()));
  if (!bytes) return std::optional<bson::Document>();
  return std::optional<bson::Document>(bson::Document::FromValidatedBytes(std::move(*bytes)));
}

std::unique_ptr<DocumentCursor> ReadView::Scan(const CollectionHandle& coll, bool forward) {
  return std::make_unique<DocumentCursor>(
      store_.NewIterator(storage::Cf::kDocuments, coll.prefix, storage::PrefixSuccessor(coll.prefix), snapshot_.get()),
      forward);
}

std::unique_ptr<DocumentCursor> ReadView::ScanRange(const CollectionHandle& coll, std::string_view lower_id,
                                                    std::string_view upper_id, bool forward) {
  std::string lower = coll.prefix + std::string(lower_id);
  std::string upper = upper_id.empty() ? storage::PrefixSuccessor(coll.prefix) : coll.prefix + std::string(upper_id);
  return std::make_unique<DocumentCursor>(
      store_.NewIterator(storage::Cf::kDocuments, std::move(lower), std::move(upper), snapshot_.get()), forward);
}

std::vector<std::string> ReadView::SplitIds(const CollectionHandle& coll, size_t parts, uint64_t min_part_bytes) {
  std::vector<std::string> out;
  if (parts < 2) return out;
  const std::string end = storage::PrefixSuccessor(coll.prefix);
  uint64_t total = store_.ApproximateSize(storage::Cf::kDocuments, coll.prefix, end);
  if (total / parts < min_part_bytes) return out;
  std::unique_ptr<storage::Iterator> it =
      store_.NewIterator(storage::Cf::kDocuments, coll.prefix, end, snapshot_.get());
  it->SeekToFirst();
  if (!it->Valid()) return out;
  const std::string first(it->key());
  it->SeekToLast();
  if (!it->Valid()) return out;
  const std::string last(it->key());
  // Keys as numbers: the 8 bytes after the prefix that the first and last keys share,
  // big-endian (missing bytes read as 0). key_at(v) is a key between first and last for
  // v in (pos(first), pos(last)]; bisection on the estimated size before it finds the splits,
  // whatever the _id encoding's distribution.
  size_t common = 0;
  while (common < first.size() && common < last.size() && first[common] == last[common]) ++common;
  auto pos = [&](const std::string& k) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | (common + i < k.size() ? static_cast<uint8_t>(k[common + i]) : 0u);
    return v;
  };
  auto key_at = [&](uint64_t v) {
    std::string k = first.substr(0, common);
    for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(v >> (8 * i)));
    return k;
  };
  uint64_t lo = pos(first);
  const uint64_t last_pos = pos(last);
  for (size_t j = 1; j < parts && last_pos - lo > 1; ++j) {
    auto target = static_cast<uint64_t>(static_cast<unsigned __int128>(total) * j / parts);
    uint64_t a = lo, b = last_pos;  // invariant: size before key_at(a) < target (or a == lo)
    for (int step = 0; step < 64 && b - a > 1; ++step) {
      uint64_t mid = a + (b - a) / 2;
      if (store_.ApproximateSize(storage::Cf::kDocuments, coll.prefix, key_at(mid)) < target) {
        a = mid;
      } else {
        b = mid;
      }
    }
    std::string k = key_at(b);
    if (k <= first || k > last || b <= lo) break;
    out.push_back(k.substr(coll.prefix.size()));
    lo = b;
  }
  return out;
}

std::unique_ptr<IndexCursor> ReadView::ScanIndex(const catalog::IndexSpec& index, std::string lower, std::string upper,
                                                 bool forward) {
  auto [lo, hi] = index::IndexScanRange(index.id, lower, upper);
  return std::make_unique<IndexCursor>(store_.NewIterator(storage::Cf::kIndexes, std::move(lo), std::move(hi), snapshot_.get()),
                                       index.unique, forward);
}

}  // namespace amalgam::engine
