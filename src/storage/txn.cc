#include "storage/txn.h"

#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>

#include "storage/key_codec.h"
#include "storage/rocks_internal.h"

namespace amalgam::storage {

Txn::Txn(Store* store, rocksdb::Transaction* txn, std::shared_ptr<const Snapshot> snapshot)
    : store_(store), txn_(txn), snapshot_(std::move(snapshot)) {}

Txn::~Txn() {
  if (!finished_) txn_->Rollback().PermitUncheckedError();
  store_->RecycleTransaction(txn_);
}

Result<std::optional<std::string>> Txn::Get(Cf c, std::string_view key) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_ ? snapshot_->raw() : nullptr;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = txn_->Get(ro, store_->cf(c), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read");
  return std::optional<std::string>(std::string(value.data(), value.size()));
}

Result<std::optional<std::string>> Txn::GetForUpdate(Cf c, std::string_view key) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_ ? snapshot_->raw() : nullptr;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = txn_->GetForUpdate(ro, store_->cf(c), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read for update");
  return std::optional<std::string>(std::string(value.data(), value.size()));
}

Status Txn::Put(Cf c, std::string_view key, std::string_view value) {
  return FromRocks(txn_->Put(store_->cf(c), rocksdb::Slice(key.data(), key.size()),
                             rocksdb::Slice(value.data(), value.size())),
                   "write");
}

Status Txn::Delete(Cf c, std::string_view key) {
  return FromRocks(txn_->Delete(store_->cf(c), rocksdb::Slice(key.data(), key.size())), "delete");
}

Status Txn::PutUntracked(Cf c, std::string_view key, std::string_view value) {
  return FromRocks(txn_->PutUntracked(store_->cf(c), rocksdb::Slice(key.data(), key.size()),
                                      rocksdb::Slice(value.data(), value.size())),
                   "write");
}

Status Txn::DeleteUntracked(Cf c, std::string_view key) {
  return FromRocks(txn_->DeleteUntracked(store_->cf(c), rocksdb::Slice(key.data(), key.size())), "delete");
}

std::unique_ptr<Iterator> Txn::NewIterator(Cf c, std::string lower, std::string upper) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_ ? snapshot_->raw() : nullptr;
  auto impl = MakeBoundedImpl(std::move(lower), std::move(upper), &ro);
  impl->it.reset(txn_->GetIterator(ro, store_->cf(c)));
  return std::make_unique<Iterator>(std::move(impl));
}

Result<CommitInfo> Txn::Commit() {
  if (finished_) return InternalError("transaction already finished");
  finished_ = true;
  CommitInfo info;
  if (!changes_.empty()) {
    uint32_t n = static_cast<uint32_t>(changes_.size());
    store_->ReserveSeqs(n, &info.first_seq, &info.commit_millis);
    info.count = n;
    for (uint32_t i = 0; i < n; ++i) {
      ChangeEntry entry;
      entry.seq = info.first_seq + i;
      entry.commit_millis = info.commit_millis;
      entry.commit_first_seq = info.first_seq;
      entry.commit_count = n;
      entry.record = std::move(changes_[i]);
      std::string key;
      AppendUint64BE(&key, entry.seq);
      std::string value = EncodeChangeEntry(entry);
      // Sequence keys are unique to this commit: no lock or conflict check is needed.
      rocksdb::Status s = txn_->PutUntracked(store_->cf(Cf::kChangeLog), key, value);
      if (!s.ok()) {
        txn_->Rollback().PermitUncheckedError();
        store_->ReleaseSeqs(info.first_seq, false);
        return FromRocks(s, "change log write");
      }
    }
    changes_.clear();
  } else {
    info.commit_millis = store_->clock().NowMillis();
  }
  rocksdb::Status s = txn_->Commit();
  if (info.count > 0) store_->ReleaseSeqs(info.first_seq, s.ok());
  if (!s.ok()) {
    txn_->Rollback().PermitUncheckedError();
    return FromRocks(s, "commit");
  }
  return info;
}

void Txn::SetSavePoint() {
  txn_->SetSavePoint();
  savepoints_.push_back(changes_.size());
}

Status Txn::RollbackToSavePoint() {
  if (savepoints_.empty()) return InternalError("no savepoint to roll back to");
  changes_.resize(savepoints_.back());
  savepoints_.pop_back();
  return FromRocks(txn_->RollbackToSavePoint(), "rollback to savepoint");
}

void Txn::PopSavePoint() {
  if (savepoints_.empty()) return;
  savepoints_.pop_back();
  txn_->PopSavePoint().PermitUncheckedError();
}

void Txn::Rollback() {
  if (finished_) return;
  finished_ = true;
  txn_->Rollback().PermitUncheckedError();
  changes_.clear();
}

}  // namespace amalgam::storage
