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
  std::string when_matched = "merge";     // replace | keepExisting | merge | fail
  std::string when_not_matched = "insert";  // insert | discard | fail
};

// If the last stage of `pipeline` (an array of stage documents) is $out or $merge, parses it into
// *target and returns true. Errors: kFailedToParse / MongoDB location codes for malformed specs;
// kNotImplemented for $merge's pipeline form of whenMatched and for `on` fields other than _id.
Result<bool> ParseOutStage(bson::DocView pipeline, const std::string& db, OutTarget* target);

// Drains `source` and writes every document to the target. $out replaces the target collection
// atomically (a temporary collection renamed over it; the target's secondary indexes are not
// carried over yet); $merge inserts / replaces / merges document by document. Errors: the
// source's, the engine's (kDuplicateKey for duplicate _ids in $out or whenMatched: fail), 13113
// for whenNotMatched: fail.
Status WriteOut(CommandContext& ctx, const OutTarget& target, engine::DocumentSource& source);

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
