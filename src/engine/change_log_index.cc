#include "engine/change_log_index.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "storage/key_codec.h"
#include "storage/store.h"

namespace amalgam::engine {
namespace {

constexpr size_t kMaxCatchUp = 1'000'000;  // log entries one catch-up reads at most
constexpr int64_t kForgetAfterNanos = int64_t{30} * 60 * 1'000'000'000;
constexpr int64_t kSweepEveryNanos = int64_t{60} * 1'000'000'000;

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string SeqKey(uint64_t seq) {
  std::string k;
  storage::AppendUint64BE(&k, seq);
  return k;
}

int32_t LoadInt32(const char* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The collection id of a stored entry: from its `cid` field alone, or (on an unexpected
// layout) from a full decode, which reports a malformed entry as kDataCorruption.
Result<uint64_t> CollectionIdOf(uint64_t seq, std::string_view value) {
  uint64_t cid = 0;
  if (ChangeEntryCollectionId(value, &cid)) return cid;
  AMALGAM_ASSIGN_OR_RETURN(storage::ChangeEntry e, storage::DecodeChangeEntry(seq, value));
  return e.record.collection_id;
}

}  // namespace

bool ChangeEntryCollectionId(std::string_view value, uint64_t* cid) {
  const char* p = value.data();
  const char* end = p + value.size();
  if (value.size() < 5 || static_cast<size_t>(LoadInt32(p)) != value.size()) return false;
  p += 4;
  while (p < end) {
    uint8_t type = static_cast<uint8_t>(*p++);
    if (type == 0) return false;
    const char* name = p;
    while (p < end && *p != '\0') ++p;
    if (p >= end) return false;
    std::string_view field(name, static_cast<size_t>(p - name));
    ++p;
    size_t size = 0;
    switch (type) {
      case 0x01: case 0x09: case 0x11: case 0x12: size = 8; break;  // double, date, timestamp, int64
      case 0x08: size = 1; break;                                      // bool
      case 0x10: size = 4; break;                                      // int32
      case 0x02:                                                       // string
        if (end - p < 4) return false;
        size = 4 + static_cast<size_t>(static_cast<uint32_t>(LoadInt32(p)));
        break;
      case 0x03: case 0x04:                                            // document, array
        if (end - p < 4) return false;
        size = static_cast<size_t>(static_cast<uint32_t>(LoadInt32(p)));
        break;
      default:
        return false;
    }
    if (size > static_cast<size_t>(end - p)) return false;
    if (field == "cid") {
      if (type != 0x12) return false;
      int64_t v;
      std::memcpy(&v, p, 8);
      *cid = static_cast<uint64_t>(v);
      return true;
    }
    p += size;
  }
  return false;
}

CollectionChangeIndex::CollectionChangeIndex(storage::Store& store) : store_(store) {}

Status CollectionChangeIndex::HistoryLost(uint64_t trimmed) const {
  return Status(ErrorCode::kChangeStreamHistoryLost,
                "Resume of change stream was not possible, as the resume point may no longer be in the change log "
                "(entries up to " + std::to_string(trimmed) + " have been removed by retention)");
}

Status CollectionChangeIndex::CatchUp() {
  auto snapshot = store_.GetSnapshot();
  uint64_t visible = snapshot->visible_seq();
  // Loaded after the snapshot (as Engine::ReadChanges): entries up to the mark may be gone;
  // whoever wants them learns it from the mark, so the index need not hold them.
  uint64_t trimmed = store_.ChangeLogTrimmedThrough();
  through_ = std::max(through_, trimmed);
  if (through_ >= visible) return Status::OK();
  if (watched_.empty()) {
    through_ = visible;
    return Status::OK();
  }
  auto it = store_.NewIterator(storage::Cf::kChangeLog, SeqKey(through_ + 1), SeqKey(visible + 1), snapshot.get());
  size_t n = 0;
  uint64_t last = through_;
  for (it->SeekToFirst(); it->Valid() && n < kMaxCatchUp; it->Next(), ++n) {
    uint64_t seq = storage::ReadUint64BE(it->key());
    AMALGAM_ASSIGN_OR_RETURN(uint64_t cid, CollectionIdOf(seq, it->value()));
    auto w = watched_.find(cid);
    if (w != watched_.end()) w->second.seqs.push_back(seq);
    last = seq;
  }
  AMALGAM_RETURN_IF_ERROR(it->status());
  caught_up_entries_ += n;
  through_ = n < kMaxCatchUp ? visible : last;
  return Status::OK();
}

Result<std::vector<storage::ChangeEntry>> CollectionChangeIndex::ScanHistory(uint64_t cid, uint64_t after, uint64_t upto,
                                                                             size_t limit, size_t max_scan,
                                                                             uint64_t* scanned_through) {
  std::vector<storage::ChangeEntry> out;
  auto snapshot = store_.GetSnapshot();
  uint64_t hi = std::min(upto, snapshot->visible_seq());
  uint64_t trimmed = store_.ChangeLogTrimmedThrough();
  if (after < trimmed) return HistoryLost(trimmed);
  *scanned_through = std::max(after, hi);
  if (after >= hi) return out;
  auto it = store_.NewIterator(storage::Cf::kChangeLog, SeqKey(after + 1), SeqKey(hi + 1), snapshot.get());
  size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t seq = storage::ReadUint64BE(it->key());
    if (n == max_scan) {
      *scanned_through = seq - 1;
      break;
    }
    ++n;
    AMALGAM_ASSIGN_OR_RETURN(uint64_t entry_cid, CollectionIdOf(seq, it->value()));
    if (entry_cid != cid) continue;
    AMALGAM_ASSIGN_OR_RETURN(storage::ChangeEntry e, storage::DecodeChangeEntry(seq, it->value()));
    out.push_back(std::move(e));
    if (out.size() == limit) {
      *scanned_through = seq;
      break;
    }
  }
  AMALGAM_RETURN_IF_ERROR(it->status());
  {
    std::lock_guard<std::mutex> lock(mu_);
    history_entries_ += n;
  }
  return out;
}

Result<std::vector<storage::ChangeEntry>> CollectionChangeIndex::ReadAt(const std::vector<uint64_t>& seqs) {
  std::vector<storage::ChangeEntry> out;
  if (seqs.empty()) return out;
  auto snapshot = store_.GetSnapshot();
  uint64_t trimmed = store_.ChangeLogTrimmedThrough();
  auto it = store_.NewIterator(storage::Cf::kChangeLog, SeqKey(seqs.front()), SeqKey(seqs.back() + 1), snapshot.get());
  out.reserve(seqs.size());
  for (uint64_t seq : seqs) {
    std::string key = SeqKey(seq);
    it->Seek(key);
    AMALGAM_RETURN_IF_ERROR(it->status());
    if (!it->Valid() || it->key() != key) {
      if (seq <= trimmed) return HistoryLost(trimmed);
      return Status(ErrorCode::kDataCorruption, "change log entry " + std::to_string(seq) + " is missing");
    }
    AMALGAM_ASSIGN_OR_RETURN(storage::ChangeEntry e, storage::DecodeChangeEntry(seq, it->value()));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<storage::ChangeEntry>> CollectionChangeIndex::Read(uint64_t cid, uint64_t after_seq, size_t limit,
                                                                      uint64_t* scanned_through, size_t max_scan) {
  uint64_t trimmed = store_.ChangeLogTrimmedThrough();
  if (after_seq < trimmed) return HistoryLost(trimmed);
  *scanned_through = after_seq;
  if (limit == 0) return std::vector<storage::ChangeEntry>();
  int64_t now = SteadyNanos();
  std::vector<uint64_t> seqs;
  uint64_t since = 0;
  uint64_t through = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      started_ = true;
      through_ = store_.LastVisibleSeq();
    }
    auto [w, inserted] = watched_.try_emplace(cid);
    if (inserted) w->second.since = through_;  // before catching up: from here on it is indexed
    w->second.last_read_nanos = now;
    AMALGAM_RETURN_IF_ERROR(CatchUp());
    // Forget collections nobody reads any more, and what retention removed.
    if (now - last_sweep_nanos_ > kSweepEveryNanos) {
      last_sweep_nanos_ = now;
      std::erase_if(watched_, [&](const auto& kv) { return now - kv.second.last_read_nanos > kForgetAfterNanos; });
    }
    Watched& mine = watched_[cid];
    while (!mine.seqs.empty() && mine.seqs.front() <= trimmed) mine.seqs.pop_front();
    since = mine.since;
    through = through_;
    if (after_seq >= since) {
      auto pos = std::upper_bound(mine.seqs.begin(), mine.seqs.end(), after_seq);
      for (; pos != mine.seqs.end() && seqs.size() < limit; ++pos) seqs.push_back(*pos);
    }
  }
  if (after_seq < since) return ScanHistory(cid, after_seq, since, limit, max_scan, scanned_through);
  AMALGAM_ASSIGN_OR_RETURN(std::vector<storage::ChangeEntry> out, ReadAt(seqs));
  *scanned_through = seqs.size() == limit ? seqs.back() : std::max(after_seq, through);
  return out;
}

}  // namespace amalgam::engine
