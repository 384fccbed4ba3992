#include "index/index_writer.h"

#include <algorithm>

#include "bson/builder.h"
#include "bson/json.h"
#include "index/index_entry.h"

namespace amalgam::index {

std::string DuplicateKeyText(const KeyGenerator& gen, const storage::EncodedKey& key) {
  auto decoded = storage::DecodeKey(key.key, key.typebits, gen.directions());
  if (!decoded.ok()) return "{ <undecodable> }";
  bson::Builder b;
  size_t i = 0;
  for (const bson::Element& e : decoded->view()) {
    if (i < gen.spec().fields.size()) b.AppendValue(gen.spec().fields[i++].path.dotted(), e.value);
  }
  return bson::ToShellString(std::move(b).Finish().view());
}

namespace {

// {keyPattern, keyValue} of a duplicate key, as MongoDB's write errors carry them.
std::string DuplicateKeyDetails(const KeyGenerator& gen, const storage::EncodedKey& key) {
  bson::Builder b;
  b.AppendDocument("keyPattern", gen.spec().key_pattern.view());
  b.StartDocument("keyValue");
  auto decoded = storage::DecodeKey(key.key, key.typebits, gen.directions());
  if (decoded.ok()) {
    size_t i = 0;
    for (const bson::Element& e : decoded->view()) {
      if (i < gen.spec().fields.size()) b.AppendValue(gen.spec().fields[i++].path.dotted(), e.value);
    }
  }
  b.EndDocument();
  return std::move(b).Finish().release();
}

Status DuplicateKey(std::string_view ns, const KeyGenerator& gen, const storage::EncodedKey& key) {
  return Status(ErrorCode::kDuplicateKey, "E11000 duplicate key error collection: " + std::string(ns) +
                                              " index: " + gen.spec().name + " dup key: " + DuplicateKeyText(gen, key))
      .WithDetails(DuplicateKeyDetails(gen, key));
}

bool Contains(const std::vector<storage::EncodedKey>& sorted, const storage::EncodedKey& k) {
  return std::binary_search(sorted.begin(), sorted.end(), k,
                            [](const storage::EncodedKey& a, const storage::EncodedKey& b) { return a.key < b.key; });
}

}  // namespace

Status UpdateIndexes(storage::Txn& txn, std::string_view ns, const std::vector<KeyGenerator>& indexes,
                     std::string_view encoded_id, const bson::DocView* before, const bson::DocView* after,
                     std::vector<bool>* multikey_seen) {
  std::vector<storage::EncodedKey> old_keys, new_keys;
  for (size_t i = 0; i < indexes.size(); ++i) {
    const KeyGenerator& gen = indexes[i];
    const catalog::IndexSpec& spec = gen.spec();
    old_keys.clear();
    new_keys.clear();
    if (before) AMALGAM_RETURN_IF_ERROR(gen.Generate(*before, &old_keys));
    bool multikey = false;
    if (after) AMALGAM_RETURN_IF_ERROR(gen.Generate(*after, &new_keys, &multikey));
    if (multikey && multikey_seen) (*multikey_seen)[i] = true;
    for (const storage::EncodedKey& k : old_keys) {
      if (Contains(new_keys, k)) continue;
      IndexEntry e = MakeIndexEntry(spec.id, spec.unique, k, encoded_id);
      // A non-unique entry carries the _id, so only writers of this document (whose key the
      // caller has locked) touch it: no lock or snapshot check needed. A unique entry is
      // shared by every document with that key value and must be locked.
      AMALGAM_RETURN_IF_ERROR(spec.unique ? txn.Delete(storage::Cf::kIndexes, e.key)
                                          : txn.DeleteUntracked(storage::Cf::kIndexes, e.key));
    }
    for (const storage::EncodedKey& k : new_keys) {
      if (Contains(old_keys, k)) continue;
      IndexEntry e = MakeIndexEntry(spec.id, spec.unique, k, encoded_id);
      if (spec.unique) {
        AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.GetForUpdate(storage::Cf::kIndexes, e.key));
        if (existing) {
          AMALGAM_ASSIGN_OR_RETURN(ParsedIndexEntry parsed, ParseIndexEntry(true, e.key, *existing));
          if (parsed.encoded_id != encoded_id) return DuplicateKey(ns, gen, k);
        }
      }
      AMALGAM_RETURN_IF_ERROR(spec.unique ? txn.Put(storage::Cf::kIndexes, e.key, e.value)
                                          : txn.PutUntracked(storage::Cf::kIndexes, e.key, e.value));
    }
  }
  return Status::OK();
}

}  // namespace amalgam::index
