#pragma once
// CollectionChangeIndex: one collection's entries of the shared change log without reading
// every other collection's (DynamoDB Streams: a reader of a quiet table while other tables are
// busy). docs/change-streams.md, "Reading one table from the shared log".
//
// The log is one sequence for the whole engine. Engine::ReadChanges returns everything; a reader
// of one collection used to decode and skip every other entry, on every poll. This index keeps,
// in memory, the sequence numbers of the entries of each collection someone reads ("watched"),
// from the moment it was first read on:
//
//   - catch-up: whichever reader comes first reads the log entries committed since the index
//     last looked (only the `cid` field of each, not the whole entry) and appends the seqs of
//     watched collections. The log is read once for all readers, not once per reader and poll.
//   - a read after the point where its collection became watched takes the collection's seqs
//     from memory and reads just those entries;
//   - a read before that point (history from before the process or the first read) scans the
//     log as before, checking only `cid` before decoding, at most `max_scan` entries per call.
//
// Memory: 8 bytes per entry of a watched collection within the retention window. A collection
// not read for 30 minutes (DynamoDB iterators live 15) is forgotten, and so are seqs that
// retention trimmed. Nothing is persisted: after a restart the index starts again empty.
//
// Thread safety: Read may be called concurrently; catch-up is serialized by a mutex, the
// entry reads run outside it.

#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "storage/change_record.h"

namespace amalgam::storage {
class Store;
}

namespace amalgam::engine {

class CollectionChangeIndex {
 public:
  explicit CollectionChangeIndex(storage::Store& store);

  // Entries of collection `cid` with seq > after_seq, at most `limit`, up to the visibility
  // watermark, in order. *scanned_through: every entry of `cid` in (after_seq,
  // *scanned_through] is in the result (a history scan stops after `max_scan` log entries, so a
  // caller wanting more calls again from there). Errors: as Engine::ReadChanges
  // (kChangeStreamHistoryLost past retention, kIOError, kDataCorruption).
  Result<std::vector<storage::ChangeEntry>> Read(uint64_t cid, uint64_t after_seq, size_t limit,
                                                 uint64_t* scanned_through, size_t max_scan = 100'000);

  // For tests: how many log entries this index has read to catch up, and in history scans.
  uint64_t caught_up_entries() const { return caught_up_entries_; }
  uint64_t history_entries() const { return history_entries_; }

 private:
  struct Watched {
    uint64_t since = 0;           // every entry of the collection with seq > since is in seqs
    std::deque<uint64_t> seqs;    // ascending
    int64_t last_read_nanos = 0;  // steady clock
  };

  // Advances through_ towards the watermark (at most kMaxCatchUp entries). REQUIRES: mu_ held.
  Status CatchUp();
  // The entries of `cid` in (after, upto], reading at most max_scan log entries.
  Result<std::vector<storage::ChangeEntry>> ScanHistory(uint64_t cid, uint64_t after, uint64_t upto, size_t limit,
                                                        size_t max_scan, uint64_t* scanned_through);
  // Decodes the entries at `seqs` (all <= the watermark).
  Result<std::vector<storage::ChangeEntry>> ReadAt(const std::vector<uint64_t>& seqs);
  Status HistoryLost(uint64_t trimmed) const;

  storage::Store& store_;
  std::mutex mu_;
  bool started_ = false;
  uint64_t through_ = 0;  // the log has been read up to here for the watched collections
  std::unordered_map<uint64_t, Watched> watched_;
  int64_t last_sweep_nanos_ = 0;
  uint64_t caught_up_entries_ = 0;
  uint64_t history_entries_ = 0;
};

// The `cid` of a stored change-log entry, read without decoding the rest; false when the value
// does not have the expected layout (the caller then decodes it fully, which reports why).
bool ChangeEntryCollectionId(std::string_view value, uint64_t* cid);

}  // namespace amalgam::engine
