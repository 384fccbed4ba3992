#pragma once
// CollectionHandle: a catalog entry together with the compiled key generators of its
// secondary indexes — what every write needs. Immutable; shared by all operations that use
// the same catalog version of the collection.

#include <atomic>
#include <memory>
#include <vector>

#include "catalog/catalog.h"
#include "index/key_generator.h"

namespace amalgam::engine {

struct CollectionHandle {
  catalog::CollectionPtr info;
  std::vector<index::KeyGenerator> indexes;  // secondary indexes (ready and building)
  // multikey[i]: index i has had a document with an array in a key field. Shared with the
  // Engine (and every later handle), set once, never cleared while the index exists.
  std::vector<std::shared_ptr<std::atomic<bool>>> multikey;
  std::string prefix;                        // documents key prefix: [collection id]

  bool IsMultikey(size_t i) const { return multikey[i]->load(std::memory_order_acquire); }
};
using HandlePtr = std::shared_ptr<const CollectionHandle>;

}  // namespace amalgam::engine
