#pragma once
// Keeping secondary indexes in step with a document change, inside the change's transaction.

#include <string_view>
#include <vector>

#include "bson/document.h"
#include "common/status.h"
#include "index/key_generator.h"
#include "storage/txn.h"

namespace amalgam::index {

// Writes the index entries for a document going from `before` to `after` (either may be null
// for insert / delete) for every generator in `indexes`: deletes entries only `before` had,
// adds entries only `after` has. For unique indexes, each added entry is read with a lock
// first: an entry of another document is kDuplicateKey with MongoDB's message
// ("E11000 duplicate key error collection: db.c index: name dup key: { a: 1 }").
// REQUIRES: the transaction holds the lock of the document's key (GetForUpdate or a write of
// it), which serializes the writers of its non-unique entries (written without locks).
// Errors: kDuplicateKey, kCannotBuildIndexKeys, kWriteConflict, kIOError. On error the caller
// must abandon the transaction (some entries may already be written in it).
// If `multikey_seen` is given (sized like `indexes`), entry i is set when `after` makes index i
// multikey.
Status UpdateIndexes(storage::Txn& txn, std::string_view ns, const std::vector<KeyGenerator>& indexes,
                     std::string_view encoded_id, const bson::DocView* before, const bson::DocView* after,
                     std::vector<bool>* multikey_seen = nullptr);

// The "dup key: { a: 1 }" part of a duplicate-key message for `key` of `gen`'s index.
std::string DuplicateKeyText(const KeyGenerator& gen, const storage::EncodedKey& key);

}  // namespace amalgam::index
