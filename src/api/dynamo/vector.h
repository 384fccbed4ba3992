#pragma once
// The DynamoDB face of vector search: CreateTable.VectorIndexes, DescribeTable.VectorIndexes
// and SearchVectors, on the engine's vector indexes (engine/vector_indexes.h), so that an index
// made here is the same index `$vectorSearch` uses on dynamodb.<Table> (docs/dynamodb-mapping.md,
// "Vector indexes"). A VectorIndex becomes an Atlas-form definition: one vector field (the
// VectorAttribute, read from an L of N), the SearchSchema attributes as filter fields.
// Internal to api/dynamo.

#include <string>
#include <vector>

#include "api/dynamo/service_internal.h"
#include "engine/vector_index_def.h"

namespace amalgam::api::dynamo {

// One VectorIndex of a request: the engine definition and what TableMeta keeps besides.
struct ParsedVectorIndex {
  engine::VectorIndexDef def;
  VectorIndexMeta meta;
};

// Parses CreateTable's VectorIndexes (`list`, a JSON array). Errors: kBadValue
// (ValidationException) naming the member, e.g. "VectorIndexes[0].Dimensions must be between 1
// and 8192".
Result<std::vector<ParsedVectorIndex>> ParseVectorIndexes(const JsonValue& list);

// Checks that every SearchSchema attribute of `indexes` is declared in the table's
// AttributeDefinitions or in `new_defs` (UpdateTable's), and adds those of `new_defs` it uses to
// meta->attribute_definitions. Errors: kBadValue "One element in SearchSchema is not defined in
// attribute definitions", or a type conflict with an existing definition.
Status CheckSearchSchemaDefined(const std::vector<ParsedVectorIndex>& indexes,
                                const std::vector<std::pair<std::string, char>>& new_defs, TableMeta* meta);

// Creates the parsed indexes on the table's collection. Errors from the engine.
Status CreateVectorIndexes(OpContext& ctx, std::string_view table, std::vector<ParsedVectorIndex> indexes);

// UpdateTable's VectorIndexUpdates, parsed and checked against the table's current indexes
// before anything is changed.
struct VectorIndexUpdates {
  std::vector<ParsedVectorIndex> create;
  std::vector<std::string> drop;
};
// Errors: kBadValue for a malformed element (each needs exactly one of Create / Delete), an
// index name already taken (by an existing or another new index), or the same index deleted
// twice; kIndexNotFound (ResourceNotFoundException) for deleting an unknown index.
Result<VectorIndexUpdates> ParseVectorIndexUpdates(OpContext& ctx, std::string_view table, const JsonValue& list);
// Drops, then creates (building over the existing items in the background), and records the
// change in *meta (which the caller saves).
Status ApplyVectorIndexUpdates(OpContext& ctx, TableMeta* meta, VectorIndexUpdates updates);

// Writes "VectorIndexes": [...] (VectorIndexDescription) when the table has vector indexes.
void WriteVectorIndexDescriptions(OpContext& ctx, const TableMeta& meta);

// The SearchVectors operation.
Status SearchVectors(OpContext& ctx);

}  // namespace amalgam::api::dynamo
