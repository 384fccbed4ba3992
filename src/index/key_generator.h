#pragma once
// KeyGenerator: the encoded keys one index holds for a document (MongoDB's key generation:
// multikey expansion of at most one array field, null for missing fields, sparse and partial
// filtering). Immutable after Make: safe to share across threads.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bson/document.h"
#include "catalog/index_spec.h"
#include "common/result.h"
#include "index/partial_filter.h"
#include "storage/key_codec.h"

namespace amalgam::index {

class KeyGenerator {
 public:
  // Compiles the spec's partial filter. Errors: kCannotCreateIndex for an unsupported filter.
  static Result<KeyGenerator> Make(const catalog::IndexSpec& spec);

  // Sets *keys to the distinct encoded keys of `doc`, sorted; empty when the document is not
  // indexed (sparse with no field present, or outside the partial filter).
  // Errors: kCannotBuildIndexKeys when more than one key field holds an array ("cannot index
  // parallel arrays"). If `multikey` is given it is set when an array was expanded (the index
  // is then multikey: one document may have several keys, and bounds on one field must not be
  // intersected).
  Status Generate(bson::DocView doc, std::vector<storage::EncodedKey>* keys, bool* multikey = nullptr) const;

  const catalog::IndexSpec& spec() const { return *spec_; }
  std::span<const storage::Direction> directions() const { return directions_; }

 private:
  KeyGenerator() = default;
  std::shared_ptr<const catalog::IndexSpec> spec_;
  std::vector<storage::Direction> directions_;
  std::shared_ptr<const PartialFilter> filter_;
};

}  // namespace amalgam::index
