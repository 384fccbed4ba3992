#pragma once
// Filling cursor batches: the documents of a firstBatch / nextBatch, bounded by the batch size
// and by the 16 MiB reply limit.

#include <string>
#include <vector>

#include "api/mongo/cursor_manager.h"
#include "bson/builder.h"
#include "common/result.h"
#include "common/status.h"

namespace amalgam::api::mongo {

// Appends up to `batch_size` documents (0: no count limit) from `cursor` to the array being
// built in `out` (REQUIRES: out has just started that array), stopping before the reply would
// pass the size limit. Sets *exhausted when the source has no more documents.
// Errors: those of the cursor's source.
Status FillBatch(Cursor& cursor, int64_t batch_size, bson::Builder& out, bool* exhausted);

// {cursor: {id, ns, <batch_field>: [...]}}: runs FillBatch and registers the cursor with the
// manager when documents remain (id 0 otherwise). Takes ownership of `cursor`.
Status AppendCursorReply(CursorManager& manager, std::unique_ptr<Cursor> cursor, int64_t batch_size,
                         std::string_view batch_field, int64_t now_millis, bson::Builder& reply);

// The `cursor` option of listIndexes / listCollections ({batchSize: N}). Returns the batch size,
// -1 when there is no batchSize (everything in the first batch).
// Errors: kTypeMismatch (cursor not an object, batchSize not a number), kUnknownField,
// kFieldValueOutOfRange (negative), as MongoDB words them.
Result<int64_t> ListingBatchSizeArg(std::string_view command, const bson::Value& cursor_option);

// {cursor: {id, ns, firstBatch}} over a listing computed in memory (indexes, collections):
// honours `batch_size` as find does (0: an empty first batch and an open cursor; -1: all of it,
// cursor id 0), registering a cursor for getMore when documents remain.
Status AppendListingCursor(CursorManager& manager, std::string ns, std::vector<bson::Document> docs,
                           int64_t batch_size, int64_t connection_id, int64_t now_millis, bson::Builder& reply);

}  // namespace amalgam::api::mongo
