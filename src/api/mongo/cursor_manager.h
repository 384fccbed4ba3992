#pragma once
// CursorManager: the open client cursors of the MongoDB face (find, aggregate, listIndexes...),
// by id. A cursor is checked out by the getMore that uses it, so two getMores can never use one
// cursor at once; cursors idle for longer than the timeout are closed by ReapIdle.
//
// Thread safety: all methods may be called concurrently.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "bson/document.h"
#include "engine/document_source.h"

namespace amalgam::api::mongo {

struct Cursor {
  int64_t id = 0;
  std::string ns;  // "db.collection" as the client named it
  std::unique_ptr<engine::DocumentSource> source;
  std::optional<bson::Document> pending;  // read from the source but not yet returned
  int64_t remaining = 0;                  // documents still allowed by a limit (0: no limit)
  int64_t last_used_millis = 0;
  // maxTimeMS budget left for the server's work on this cursor (-1: unlimited). Time between
  // getMores does not count, as in MongoDB.
  int64_t remaining_time_ms = -1;
  int64_t connection_id = 0;
};

class CursorManager {
 public:
  explicit CursorManager(int64_t idle_timeout_millis = 10 * 60 * 1000) : idle_timeout_millis_(idle_timeout_millis) {}

  // Assigns an id (random, positive, unique) and stores the cursor. Returns the id.
  int64_t Register(std::unique_ptr<Cursor> cursor);
  // Takes the cursor out for exclusive use; nullptr if no such cursor, or it is checked out.
  std::unique_ptr<Cursor> CheckOut(int64_t id);
  // Returns a cursor after use.
  void CheckIn(std::unique_ptr<Cursor> cursor);
  // Forgets a checked-out cursor that is finished (exhausted or failed).
  void Discard(int64_t id);
  // Closes a cursor. Returns false if it did not exist (or is in use).
  bool Kill(int64_t id);
  // Closes cursors idle since before now - timeout. Returns how many.
  size_t ReapIdle(int64_t now_millis);
  // Closes every cursor that is not checked out (at shutdown: cursors hold storage snapshots,
  // which must be released before the engine closes). Returns how many.
  size_t CloseAll();
  size_t open() const;

 private:
  int64_t idle_timeout_millis_;
  mutable std::mutex mu_;
  std::map<int64_t, std::unique_ptr<Cursor>> cursors_;
  std::map<int64_t, bool> checked_out_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace amalgam::api::mongo
