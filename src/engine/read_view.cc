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

std::unique_ptr<IndexCursor> ReadView::ScanIndex(const catalog::IndexSpec& index, std::string lower, std::string upper,
                                                 bool forward) {
  auto [lo, hi] = index::IndexScanRange(index.id, lower, upper);
  return std::make_unique<IndexCursor>(store_.NewIterator(storage::Cf::kIndexes, std::move(lo), std::move(hi), snapshot_.get()),
                                       index.unique, forward);
}

}  // namespace amalgam::engine
