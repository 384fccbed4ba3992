#pragma once
// Change streams on the MongoDB face (docs/change-streams.md): `aggregate` with a leading
// $changeStream on a collection, a database ({aggregate: 1}) or the whole deployment
// ({aggregate: 1} on admin with allChangesForCluster), and the getMores of its cursor. Events
// are read from the change log (engine::Engine::ReadChanges) and shaped as MongoDB 7.0 shapes
// them; resume tokens name change-log sequence numbers, so they stay valid across restarts
// until retention removes the point (then ChangeStreamHistoryLost, 286).
//
// Errors (beyond the pipeline's own): kUnknownField / kBadValue / kTypeMismatch for bad
// $changeStream options; kInvalidResumeToken (260) for a token that cannot be used;
// kChangeStreamHistoryLost (286); kNoMatchingDocument (47) when a required pre- or post-image
// is missing; kChangeStreamFatalError (280) when the pipeline modifies the event's _id;
// kIllegalOperation for a stage not allowed after $changeStream; kInvalidOptions /
// kInvalidNamespace for a stream on the wrong database.

#include <memory>

#include "api/mongo/command.h"
#include "api/mongo/cursor_manager.h"

namespace amalgam::api::mongo {

// True when the aggregate command `cmd` has a $changeStream stage in its pipeline (only the
// first position is valid: ChangeStreamAggregate answers 40602 otherwise).
bool IsChangeStreamAggregate(bson::DocView cmd);

// Runs an aggregate whose pipeline starts with $changeStream: opens the stream and answers the
// first batch (never waiting), with postBatchResumeToken.
Status ChangeStreamAggregate(CommandContext& ctx, bson::Builder& reply);

// True for the cursors ChangeStreamAggregate opens.
bool IsChangeStreamCursor(const Cursor& cursor);

// getMore on a change-stream cursor, which the caller has checked out (this takes it). With no
// event ready it waits for one up to maxAwaitTimeMS (default 1 s): when ctx.conn.can_await it
// does not block but sets ctx.conn.await and returns OK (the reply is then dropped and the
// caller runs the command again after the wait); otherwise it blocks in the store.
Status ChangeStreamGetMore(CommandContext& ctx, std::unique_ptr<Cursor> cursor, int64_t batch_size,
                           bson::Builder& reply);

}  // namespace amalgam::api::mongo
