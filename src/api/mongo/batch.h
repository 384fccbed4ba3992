#pragma once
// Filling cursor batches: the documents of a firstBatch / nextBatch, bounded by the batch size
// and by the 16 MiB reply limit.

#include "api/mongo/cursor_manager.h"
#include "bson/builder.h"
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

}  // namespace amalgam::api::mongo
