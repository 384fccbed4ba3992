#pragma once
// Search index commands of the MongoDB face (Atlas syntax): createSearchIndexes,
// updateSearchIndex, dropSearchIndex, listSearchIndexes, and the inputs of the aggregation
// sources $listSearchIndexes and $vectorSearch (first stage only; see query/vector_search.h).
// Only `type: "vectorSearch"` indexes exist; they live in engine::VectorIndexes.

#include <memory>
#include <string>

#include "api/mongo/command.h"
#include "query/executor.h"

namespace amalgam::api::mongo {

// The rows a pipeline starting with $vectorSearch or $listSearchIndexes (`first`) reads: the
// search results (with their vectorSearchScore meta) or the index descriptions of db.coll.
// Errors: those of query::ParseVectorSearchRequest / RunVectorSearch.
Result<std::unique_ptr<query::Stage>> SearchStageInput(CommandContext& ctx, const std::string& coll,
                                                       std::string_view first, bson::DocView pipeline);

void RegisterSearchIndexCommands(CommandRegistry& registry);

}  // namespace amalgam::api::mongo
