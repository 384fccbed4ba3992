#pragma once
// The final $out / $merge stage of an aggregate: the pipeline before it runs as usual, then every
// result document is written through the engine's write path (as the insert and update commands
// write), and the command returns an empty cursor.

#include <optional>
#include <string>
#include <vector>

#include "api/mongo/command.h"
#include "bson/document.h"
#include "common/result.h"
#include "engine/document_source.h"

namespace amalgam::api::mongo {

struct OutTarget {
  bool merge = false;  // $merge (else $out)
  std::string db, coll;
  std::vector<std::string> on = {"_id"};  // $merge: the fields that identify a target document
  bool on_given = false;                  // `on` was in the spec (then a unique index must back it)
  std::string when_matched = "merge";     // replace | keepExisting | merge | fail | pipeline
  std::string when_not_matched = "insert";  // insert | discard | fail
  bson::Document pipeline;  // whenMatched as a pipeline: the stages (a BSON array's bytes)
  bson::Document let;       // $merge's let ({new: "$$ROOT"} when omitted with a pipeline)
};

// If the last stage of `pipeline` (an array of stage documents) is $out or $merge, parses it into
// *target and returns true. Errors (MongoDB's codes): kFailedToParse, kUnknownField,
// kMissingRequiredField, kBadValue (an unknown mode, a field repeated in `on`), 51186/51134/51187
// (`on` not a string or a non-empty array of strings), 51191 (whenMatched not a string or an
// array), 51181 (an unsupported whenMatched/whenNotMatched pair), 51199 (`let` without a
// pipeline), 51273 (`let` redefining `new`), kTypeMismatch (`let` not an object).
Result<bool> ParseOutStage(bson::DocView pipeline, const std::string& db, OutTarget* target);

// Drains `source` and writes every document to the target. $out replaces the target collection
// atomically (a temporary collection, with the target's options and indexes, renamed over
// it; a result that breaks one of its unique indexes fails the stage and leaves the target as
// it was); $merge inserts / replaces / merges / runs the whenMatched pipeline (an
// update pipeline, query/update.h, with `variables` -- the aggregate's let values and NOW -- and
// $merge's let evaluated against each result document) document by document, finding the
// target document by its `on` fields. Errors: kOperationNotSupportedInTransaction in a
// transaction; 51183 when `on` names fields no unique index covers (only _id for a target that
// does not exist); 51132/51185 for a result whose `on` field is missing, null or an array; the
// source's; the engine's (kDuplicateKey, with MongoDB's $merge context); kImmutableField when a
// match would change the target's _id; 13113 for whenNotMatched: fail.
Status WriteOut(CommandContext& ctx, const OutTarget& target, engine::DocumentSource& source,
                bson::DocView variables = bson::DocView());

// $collStats / $indexStats as the first stage: their documents for collection `coll` (nullopt
// when the first stage is neither). $indexStats: one document per index (name, key, host,
// accesses {ops: 0, since}, spec; access counting is not kept yet). $collStats: {ns, host,
// localTime} plus count {count} and storageStats {count, size, nindexes, ...} when asked.
// Errors: kNamespaceNotFound for a missing collection with $collStats storageStats/count.
// Also $listSessions (on config.system.sessions) and $listLocalSessions (with {aggregate: 1}):
// the server's logical sessions {_id: {id, uid}, lastUse}. Errors: kInvalidNamespace when run
// elsewhere.
Result<std::optional<std::vector<bson::Document>>> CommandSourceDocuments(CommandContext& ctx,
                                                                          const std::string& coll,
                                                                          bool collectionless,
                                                                          bson::DocView pipeline);

}  // namespace amalgam::api::mongo
