#pragma once
// CollectionHandle: a catalog entry together with the compiled key generators of its
// secondary indexes — what every write needs. Immutable; shared by all operations that use
// the same catalog version of the collection.

#include <memory>
#include <vector>

#include "catalog/catalog.h"
#include "index/key_generator.h"

namespace amalgam::engine {

struct CollectionHandle {
  catalog::CollectionPtr info;
  std::vector<index::KeyGenerator> indexes;  // secondary indexes (ready and building)
  std::string prefix;                        // documents key prefix: [collection id]
};
using HandlePtr = std::shared_ptr<const CollectionHandle>;

}  // namespace amalgam::engine
