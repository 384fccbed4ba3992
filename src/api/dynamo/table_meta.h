#pragma once
// TableMeta: a DynamoDB table's description as the DynamoDB face keeps it in the collection's
// options document under `dynamodb` (docs/dynamodb-mapping.md, "Tables"), and its encoding to
// and from that BSON. Immutable once built; shared by every request that uses the table
// through TableCache (service_internal.h).
//
// Thread safety: values; a const TableMeta may be read from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/dynamo/model/bson_mapping.h"
#include "bson/document.h"
#include "common/result.h"

namespace amalgam::api::dynamo {

namespace model = ::amalgam::dynamo;
using model::KeySchema;

struct Throughput {
  int64_t read = 0;
  int64_t write = 0;
};

struct SecondaryIndex {
  std::string name;
  bool global = true;
  KeySchema key;
  // "ALL", "KEYS_ONLY" or "INCLUDE"; non_key for INCLUDE.
  std::string projection = "ALL";
  std::vector<std::string> non_key;
  Throughput throughput;  // GSIs of PROVISIONED tables
};

// What a DynamoDB vector index has beyond its engine definition (engine/vector_indexes.h keeps
// the vector attribute, dimensions, distance and filter attributes): which SearchSchema
// attributes are HASH, and the Projection. An engine index without one (made by the MongoDB
// face) reads as all INLINE_FILTER, projection ALL.
struct VectorIndexMeta {
  std::string name;
  std::vector<std::string> hash;   // SearchSchema attributes of type HASH
  std::string projection = "ALL";  // ALL / KEYS_ONLY / INCLUDE
  std::vector<std::string> non_key;
};

struct TableMeta {
  std::string name;
  KeySchema key;
  std::vector<std::pair<std::string, char>> attribute_definitions;  // name, 'S'/'N'/'B'
  bool pay_per_request = false;
  Throughput throughput;
  std::vector<SecondaryIndex> indexes;  // GSIs and LSIs, in creation order
  bool stream_enabled = false;
  std::string stream_view_type;  // KEYS_ONLY / NEW_IMAGE / OLD_IMAGE / NEW_AND_OLD_IMAGES
  std::string stream_label;      // set when a stream was last enabled
  std::vector<std::pair<std::string, std::string>> tags;
  std::string ttl_attribute;
  bool ttl_enabled = false;
  // SSESpecification as given ({Enabled, SSEType, KMSMasterKeyId}), empty when none.
  bool sse_enabled = false;
  std::string sse_type;
  std::string sse_kms_key;
  std::string table_class;  // STANDARD / STANDARD_INFREQUENT_ACCESS; empty: STANDARD
  bool deletion_protection = false;
  double creation_time = 0;  // seconds since the epoch
  double last_increase_time = 0;
  double last_decrease_time = 0;
  std::string table_id;  // UUID text
  std::vector<VectorIndexMeta> vector_indexes;

  const SecondaryIndex* FindIndex(std::string_view index_name) const;
  const VectorIndexMeta* FindVectorIndex(std::string_view index_name) const;
  // The declared type of attribute `attr` ('S'/'N'/'B'), or 0.
  char AttributeType(std::string_view attr) const;
  bool IsKeyAttribute(std::string_view attr) const { return key.IsKeyAttribute(attr); }
};

// 'S', 'N' or 'B' for a key type, and back (false for another letter).
char KeyTypeChar(model::AttrType type);
bool KeyTypeFromChar(char c, model::AttrType* type);

// The `dynamodb` options subdocument for `meta`.
bson::Document EncodeTableMeta(const TableMeta& meta);
// Parses the collection options; nullopt when they hold no `dynamodb` field (a collection that
// CreateTable did not make). Errors: kDataCorruption for a malformed `dynamodb` field.
Result<std::optional<TableMeta>> DecodeTableMeta(bson::DocView collection_options);

}  // namespace amalgam::api::dynamo
