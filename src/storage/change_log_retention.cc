#include "storage/change_log_retention.h"

#include <chrono>

#include "storage/change_record.h"
#include "common/logging.h"
#include "storage/key_codec.h"

namespace amalgam::storage {

ChangeLogRetention::ChangeLogRetention(Store& store, Clock& clock, RetentionOptions options)
    : store_(store), clock_(clock), options_(options) {}

ChangeLogRetention::~ChangeLogRetention() { Stop(); }

void ChangeLogRetention::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ChangeLogRetention::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ChangeLogRetention::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    try {
      Result<uint64_t> r = RunOnce();
      if (!r.ok()) AMALGAM_LOG(kWarning, "storage") << "change-log retention pass failed: " << r.status().ToString();
    } catch (const std::exception& e) {
      AMALGAM_LOG(kError, "storage") << "change-log retention pass threw: " << e.what();
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(options_.interval_millis), [&] { return stop_; });
  }
}

Result<uint64_t> ChangeLogRetention::RunOnce() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  int64_t cutoff = clock_.NowMillis() - options_.retention_millis;
  uint64_t from = store_.ChangeLogTrimmedThrough();
  uint64_t visible = store_.LastVisibleSeq();
  if (visible <= from) return from;
  std::string lo, hi;
  AppendUint64BE(&lo, from + 1);
  AppendUint64BE(&hi, visible + 1);
  auto it = store_.NewIterator(Cf::kChangeLog, lo, hi);
  uint64_t through = from, scanned = 0;
  // Commit times never decrease along the log, and all entries of one commit share one time,
  // so the entries older than the cutoff are a prefix made of whole commits.
  for (it->SeekToFirst(); it->Valid() && scanned < options_.max_entries_per_pass; it->Next(), ++scanned) {
    if (it->key().size() != 8) return Status(ErrorCode::kDataCorruption, "change-log key is not 8 bytes");
    uint64_t seq = ReadUint64BE(it->key());
    AMALGAM_ASSIGN_OR_RETURN(ChangeEntry entry, DecodeChangeEntry(seq, it->value()));
    if (entry.commit_millis >= cutoff) break;
    through = seq;
  }
  AMALGAM_RETURN_IF_ERROR(it->status());
  if (through > from) {
    AMALGAM_RETURN_IF_ERROR(store_.TrimChangeLog(through));
    AMALGAM_LOG(kDebug, "storage") << "change log trimmed through " << through;
  }
  return through;
}

}  // namespace amalgam::storage
