#include "api/mongo/session.h"

#include "api/mongo/cursor_manager.h"
#include "bson/builder.h"
#include "bson/validate.h"
#include "common/logging.h"
#include "engine/engine.h"
#include "storage/txn.h"

namespace amalgam::api::mongo {
namespace {

constexpr int64_t kReapIntervalMillis = 1000;
constexpr int64_t kRecordGcIntervalMillis = 60 * 1000;
constexpr std::string_view kRecordPrefix = "ls";

std::string Hex(std::span<const uint8_t> bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace

Result<std::string> SessionKeyOf(const bson::Value& lsid, std::string* id_hex) {
  if (lsid.type() != bson::BsonType::kDocument) {
    return Status(ErrorCode::kTypeMismatch, "BSON field 'lsid' is the wrong type '" +
                                                std::string(bson::TypeAlias(lsid.type())) + "', expected type 'object'");
  }
  bson::DocView d = lsid.AsDocument();
  bson::Value id = d.Get("id");
  if (id.missing()) return Status(ErrorCode::kMissingRequiredField, "BSON field 'OperationSessionInfo.lsid.id' is missing but a required field");
  if (id.type() != bson::BsonType::kBinary || id.AsBinary().subtype != 4 || id.AsBinary().data.size() != 16) {
    return Status(ErrorCode::kBadValue, "lsid.id must be a UUID (binData subtype 4, 16 bytes)");
  }
  auto idb = id.AsBinary().data;
  std::string key(reinterpret_cast<const char*>(idb.data()), idb.size());
  if (id_hex) *id_hex = Hex(idb);
  bson::Value uid = d.Get("uid");
  if (uid.type() == bson::BsonType::kBinary) {
    auto u = uid.AsBinary().data;
    key.append(reinterpret_cast<const char*>(u.data()), u.size());
  }
  return key;
}

std::string SessionRecordKey(std::string_view session_key) {
  std::string k(kRecordPrefix);
  k.append(session_key);
  return k;
}

SessionRegistry::~SessionRegistry() { AbortAll(); }

SessionPtr SessionRegistry::GetOrCreate(const std::string& key, const std::string& id_hex, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  SessionPtr& s = sessions_[key];
  if (!s || s->ended.load()) {
    s = std::make_shared<Session>();
    s->key = key;
    s->id_hex = id_hex;
  }
  s->last_use_millis.store(now);
  return s;
}

SessionPtr SessionRegistry::Find(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second;
}

void SessionRegistry::AddTxnCursor(Session& s, int64_t id) {
  s.txn_cursors.push_back(id);
  std::lock_guard<std::mutex> lock(mu_);
  txn_cursors_.insert(id);
}

void SessionRegistry::CloseTxnCursors(Session& s) {
  for (int64_t id : s.txn_cursors) cursors_.Kill(id);
  std::lock_guard<std::mutex> lock(mu_);
  for (int64_t id : s.txn_cursors) txn_cursors_.erase(id);
  s.txn_cursors.clear();
}

bool SessionRegistry::IsTxnCursor(int64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return txn_cursors_.count(id) > 0;
}

void SessionRegistry::AbortTransaction(Session& s) {
  CloseTxnCursors(s);
  if (s.txn) {
    s.txn->Abort();
    s.txn.reset();
  }
  if (s.state == TxnState::kInProgress) s.state = TxnState::kAborted;
  s.txn_deadline_millis.store(0);
}

bool SessionRegistry::End(const std::string& key) {
  SessionPtr s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return false;
    s = it->second;
    sessions_.erase(it);
  }
  s->ended.store(true);
  // A busy session's command sees `ended` when it finishes and aborts then.
  std::unique_lock<std::timed_mutex> lock(s->mu, std::try_to_lock);
  if (lock.owns_lock()) AbortTransaction(*s);
  return true;
}

void SessionRegistry::Refresh(const std::string& key, int64_t now) {
  if (SessionPtr s = Find(key)) s->last_use_millis.store(now);
}

size_t SessionRegistry::EndAll() {
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, s] : sessions_) keys.push_back(k);
  }
  size_t n = 0;
  for (const std::string& k : keys) n += End(k) ? 1 : 0;
  return n;
}

void SessionRegistry::MaybeReap(int64_t now) {
  int64_t next = next_reap_millis_.load();
  if (now < next || !next_reap_millis_.compare_exchange_strong(next, now + kReapIntervalMillis)) return;
  Reap(now);
  int64_t gc = next_gc_millis_.load();
  if (now >= gc && next_gc_millis_.compare_exchange_strong(gc, now + kRecordGcIntervalMillis)) {
    size_t n = CollectRecords(now);
    if (n > 0) AMALGAM_LOG(kInfo, "mongo") << "deleted " << n << " expired session records";
  }
}

void SessionRegistry::Reap(int64_t now) {
  std::vector<SessionPtr> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, s] : sessions_) all.push_back(s);
  }
  for (const SessionPtr& s : all) {
    bool expired = now - s->last_use_millis.load() > kSessionTimeoutMillis;
    int64_t deadline = s->txn_deadline_millis.load();
    bool too_old = deadline != 0 && now >= deadline;
    if (!expired && !too_old) continue;
    std::unique_lock<std::timed_mutex> lock(s->mu, std::try_to_lock);
    if (!lock.owns_lock()) continue;  // in use: not idle
    if (s->state == TxnState::kInProgress) {
      AMALGAM_LOG(kInfo, "mongo") << "aborting transaction " << s->txn_number << " of session " << s->id_hex
                                  << (expired ? ": session expired" : ": exceeded transactionLifetimeLimitSeconds");
      AbortTransaction(*s);
    }
    if (expired) {
      std::lock_guard<std::mutex> map_lock(mu_);
      auto it = sessions_.find(s->key);
      if (it != sessions_.end() && it->second == s) sessions_.erase(it);
      s->ended.store(true);
    }
  }
}

size_t SessionRegistry::CollectRecords(int64_t now) {
  storage::Store& store = engine_.store();
  std::vector<std::string> stale;
  std::string prefix(kRecordPrefix);
  auto it = store.NewIterator(storage::Cf::kMeta, prefix, storage::PrefixSuccessor(prefix));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view v = it->value();
    auto doc = bson::ValidateDocument(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    int64_t at = 0;
    if (doc.ok()) {
      bson::Value a = doc->Get("at");
      if (a.type() == bson::BsonType::kDate) at = a.AsDateMillis();
    }
    if (now - at <= kSessionTimeoutMillis) continue;
    std::string key(it->key());
    if (Find(key.substr(prefix.size()))) continue;  // in memory: still in use
    stale.push_back(std::move(key));
  }
  size_t n = 0;
  for (const std::string& key : stale) {
    storage::TxnOptions opts;
    opts.snapshot = false;
    auto txn = store.Begin(opts);
    // Re-read under the key's lock: a write of the session since the scan keeps the record.
    auto cur = txn->GetForUpdate(storage::Cf::kMeta, key);
    if (!cur.ok() || !cur->has_value()) continue;
    auto doc = bson::ValidateDocument(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>((*cur)->data()), (*cur)->size()));
    if (doc.ok() && doc->Get("at").type() == bson::BsonType::kDate &&
        now - doc->Get("at").AsDateMillis() <= kSessionTimeoutMillis) {
      continue;
    }
    if (!txn->Delete(storage::Cf::kMeta, key).ok()) continue;
    if (txn->Commit().ok()) ++n;
  }
  return n;
}

void SessionRegistry::AbortAll() {
  std::vector<SessionPtr> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, s] : sessions_) all.push_back(s);
  }
  for (const SessionPtr& s : all) {
    std::unique_lock<std::timed_mutex> lock(s->mu, std::try_to_lock);
    if (lock.owns_lock()) AbortTransaction(*s);
  }
}

std::vector<std::pair<std::string, int64_t>> SessionRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<std::string, int64_t>> out;
  out.reserve(sessions_.size());
  for (const auto& [key, session] : sessions_) out.emplace_back(key, session->last_use_millis.load());
  return out;
}

size_t SessionRegistry::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

size_t SessionRegistry::open_transactions() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [k, s] : sessions_) n += s->txn_deadline_millis.load() != 0 ? 1 : 0;
  return n;
}

}  // namespace amalgam::api::mongo
