#include "engine/ttl_monitor.h"

#include <chrono>
#include <limits>
#include <set>

#include "bson/builder.h"
#include "common/logging.h"
#include "engine/engine.h"
#include "index/key_generator.h"
#include "storage/key_codec.h"

namespace amalgam::engine {
namespace {

// The encoded-key range [lower, upper) holding exactly the dates before `cutoff_millis` in an
// index field of the given direction (dates encode as a tag byte and 8 fixed bytes).
std::pair<std::string, std::string> ExpiredDateRange(int64_t cutoff_millis, bool descending) {
  bson::Builder b;
  b.AppendDate("d", cutoff_millis);
  bson::Document doc = std::move(b).Finish();
  std::string cutoff = storage::EncodeValue(doc.view().Get("d"), descending).key;
  std::string tag = cutoff.substr(0, 1);
  if (!descending) return {tag, cutoff};
  // Descending keys are complemented: earlier dates sort after later ones.
  return {storage::PrefixSuccessor(cutoff), storage::PrefixSuccessor(tag)};
}

bool KeyInRange(const std::string& key, const std::pair<std::string, std::string>& range) {
  return key >= range.first && key < range.second;
}

int64_t CutoffMillis(int64_t now, int64_t expire_after_seconds) {
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000 / 2;
  if (expire_after_seconds > kMaxSeconds) return std::numeric_limits<int64_t>::min();
  return now - expire_after_seconds * 1000;
}

}  // namespace

std::vector<TtlRule> IndexTtlRules(const catalog::CollectionInfo& info) {
  std::vector<TtlRule> rules;
  for (const catalog::IndexSpec& spec : info.indexes) {
    if (spec.is_id_index || !spec.expire_after_seconds || spec.fields.size() != 1) continue;
    if (spec.state != catalog::IndexSpec::State::kReady) continue;
    TtlRule r;
    r.kind = TtlRule::Kind::kIndex;
    r.name = spec.name;
    r.index_id = spec.id;
    r.expire_after_seconds = *spec.expire_after_seconds;
    rules.push_back(std::move(r));
  }
  return rules;
}

TtlMonitor::TtlMonitor(Engine& engine, Clock& clock, TtlOptions options)
    : engine_(engine), clock_(clock), options_(options) {}

TtlMonitor::~TtlMonitor() { Stop(); }

void TtlMonitor::AddRuleProvider(TtlRuleProvider provider) { providers_.push_back(std::move(provider)); }

void TtlMonitor::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void TtlMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool TtlMonitor::Pause(int64_t nanos) {
  std::unique_lock<std::mutex> lock(mu_);
  if (nanos > 0) cv_.wait_for(lock, std::chrono::nanoseconds(nanos), [&] { return stop_; });
  return !stop_;
}

void TtlMonitor::Loop() {
  while (true) {
    try {
      Result<uint64_t> r = RunOnce();
      if (!r.ok()) AMALGAM_LOG(kWarning, "ttl") << "pass failed: " << r.status().ToString();
    } catch (const std::exception& e) {
      AMALGAM_LOG(kError, "ttl") << "pass threw: " << e.what();
    }
    if (!Pause(options_.interval_millis * 1'000'000)) return;
  }
}

Result<uint64_t> TtlMonitor::RunOnce() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  uint64_t total = 0;
  for (const catalog::CollectionPtr& info : engine_.catalog().ListAll()) {
    std::vector<TtlRule> rules = IndexTtlRules(*info);
    for (const TtlRuleProvider& p : providers_) {
      for (TtlRule& r : p(*info)) rules.push_back(std::move(r));
    }
    for (const TtlRule& rule : rules) {
      if (rule.wanted_index) BuildWantedIndex(*info, rule);
      Result<uint64_t> n = rule.kind == TtlRule::Kind::kIndex ? ExpireByIndex(*info, rule) : ExpireByAttribute(*info, rule);
      if (!n.ok()) {
        AMALGAM_LOG(kWarning, "ttl") << "expiring " << info->ns() << " by " << rule.name << ": " << n.status().ToString();
        continue;
      }
      if (*n > 0) AMALGAM_LOG(kDebug, "ttl") << "deleted " << *n << " expired documents from " << info->ns();
      total += *n;
      if (!Pause(0)) return total;
    }
  }
  stats_.passes++;
  return total;
}

void TtlMonitor::BuildWantedIndex(const catalog::CollectionInfo& info, const TtlRule& rule) {
  bson::Value name = rule.wanted_index->view().Get("name");
  if (name.type() != bson::BsonType::kString) return;
  std::string index_name(name.AsString());
  for (const catalog::IndexSpec& spec : info.indexes) {
    if (spec.name == index_name) return;  // there, or being built
  }
  if (!index_attempted_.emplace(info.id, index_name).second) return;
  Result<bool> built = engine_.CreateIndex(info.db, info.name, rule.wanted_index->view());
  if (!built.ok()) {
    AMALGAM_LOG(kWarning, "ttl") << "building " << index_name << " on " << info.ns() << ": " << built.status().ToString();
    return;
  }
  AMALGAM_LOG(kInfo, "ttl") << "built " << index_name << " on " << info.ns() << " for its TTL rule";
  // The rule may have gone while the index was built (TTL disabled): then nothing drops it.
  catalog::CollectionPtr now = engine_.catalog().Find(info.db, info.name);
  bool wanted = false;
  if (now) {
    for (const TtlRuleProvider& p : providers_) {
      for (const TtlRule& r : p(*now)) {
        bson::Value n = r.wanted_index ? r.wanted_index->view().Get("name") : bson::Value();
        bool same = (n.type() == bson::BsonType::kString && n.AsString() == index_name) ||
                    (r.index_id != 0 && r.name == rule.name);
        wanted = wanted || same;
      }
    }
  }
  if (!wanted && now) engine_.DropIndex(info.db, info.name, index_name).IgnoreError();
}

Result<uint64_t> TtlMonitor::DeleteBatch(const catalog::CollectionInfo& info, const std::vector<std::string>& ids,
                                         const std::function<bool(bson::DocView)>& expired) {
  HandlePtr h = engine_.Find(info.db, info.name);
  if (!h || h->info->id != info.id) return 0;  // dropped or replaced meanwhile
  uint64_t deleted = 0;
  auto r = engine_.RunWrite([&](WriteTxn& t) -> Status {
    deleted = 0;
    t.SetByServer(true);
    for (const std::string& id : ids) {
      AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, t.GetByEncodedId(*h, id, true));
      if (!doc || !expired(doc->view())) continue;
      AMALGAM_RETURN_IF_ERROR(t.Delete(*h, doc->view()));
      ++deleted;
    }
    return Status::OK();
  });
  if (!r.ok()) return r.status();
  stats_.deleted += deleted;
  return deleted;
}

Result<uint64_t> TtlMonitor::ExpireByIndex(const catalog::CollectionInfo& info, const TtlRule& rule) {
  HandlePtr h = engine_.Find(info.db, info.name);
  if (!h) return 0;
  const index::KeyGenerator* gen = nullptr;
  for (const index::KeyGenerator& g : h->indexes) {
    if (g.spec().id == rule.index_id) gen = &g;
  }
  if (!gen) return 0;
  bool descending = gen->spec().fields[0].descending;
  auto range = ExpiredDateRange(CutoffMillis(clock_.NowMillis(), rule.expire_after_seconds), descending);
  auto still_expired = [&](bson::DocView doc) {
    std::vector<storage::EncodedKey> keys;
    if (!gen->Generate(doc, &keys).ok()) return false;
    for (const storage::EncodedKey& k : keys) {
      if (KeyInRange(k.key, range)) return true;  // some date (so the earliest) has passed
    }
    return false;
  };
  uint64_t total = 0;
  while (total < options_.max_deletes_per_pass) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> ids;
    {
      auto view = engine_.Read();
      auto cursor = view->ScanIndex(gen->spec(), range.first, range.second);
      std::set<std::string> seen;  // a multikey document has one entry per date
      IndexCursorEntry e;
      while (ids.size() < options_.batch_size && cursor->Next(&e)) {
        if (seen.insert(std::string(e.encoded_id)).second) ids.emplace_back(e.encoded_id);
      }
      AMALGAM_RETURN_IF_ERROR(cursor->status());
    }
    if (ids.empty()) break;
    AMALGAM_ASSIGN_OR_RETURN(uint64_t n, DeleteBatch(info, ids, still_expired));
    total += n;
    if (n == 0 || ids.size() < options_.batch_size) break;  // nothing left that we may delete
    auto spent = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    if (!Pause(static_cast<int64_t>(spent * options_.throttle_ratio))) break;
  }
  return total;
}

Result<uint64_t> TtlMonitor::ExpireByAttribute(const catalog::CollectionInfo& info, const TtlRule& rule) {
  if (!rule.expiry_millis) return 0;
  HandlePtr h = engine_.Find(info.db, info.name);
  if (!h) return 0;
  int64_t now = clock_.NowMillis();
  auto expired = [&](bson::DocView doc) {
    std::optional<int64_t> at = rule.expiry_millis(doc);
    return at && *at <= now;
  };
  const index::KeyGenerator* gen = nullptr;
  if (rule.index_id != 0 && rule.candidate_range) {
    for (const index::KeyGenerator& g : h->indexes) {
      if (g.spec().id == rule.index_id) gen = &g;
    }
  }
  std::vector<std::string> ids;
  if (gen != nullptr) {
    // The index holds the attribute: only the entries in the expired range are read. Each is
    // re-checked under its lock by DeleteBatch, so an over-wide range costs only reads.
    auto range = rule.candidate_range(now);
    auto view = engine_.Read();
    auto cursor = view->ScanIndex(gen->spec(), range.first, range.second);
    std::set<std::string> seen;  // a multikey document has one entry per value
    IndexCursorEntry e;
    uint64_t scanned = 0;
    while (scanned++ < options_.max_scan_per_pass && ids.size() < options_.max_deletes_per_pass && cursor->Next(&e)) {
      if (seen.insert(std::string(e.encoded_id)).second) ids.emplace_back(e.encoded_id);
    }
    AMALGAM_RETURN_IF_ERROR(cursor->status());
  } else {
    // A pass scans at most max_scan_per_pass documents, from where the previous pass stopped,
    // so every document of a larger collection is reached within a few passes.
    std::string& resume = scan_resume_[info.id];
    auto view = engine_.Read();
    auto cursor = view->ScanRange(*h, resume, "");
    bson::DocView doc;
    uint64_t scanned = 0;
    bool more = false;
    while (ids.size() < options_.max_deletes_per_pass && (more = cursor->Next(&doc))) {
      if (expired(doc)) ids.emplace_back(cursor->encoded_id());
      if (++scanned >= options_.max_scan_per_pass) break;
    }
    AMALGAM_RETURN_IF_ERROR(cursor->status());
    if (more) {
      resume = std::string(cursor->encoded_id()) + '\0';  // the next _id after the last one read
    } else {
      scan_resume_.erase(info.id);  // reached the end: the next pass starts again at the beginning
    }
  }
  uint64_t total = 0;
  for (size_t i = 0; i < ids.size(); i += options_.batch_size) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::string> batch(ids.begin() + i, ids.begin() + std::min(ids.size(), i + options_.batch_size));
    AMALGAM_ASSIGN_OR_RETURN(uint64_t n, DeleteBatch(info, batch, expired));
    total += n;
    auto spent = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    if (!Pause(static_cast<int64_t>(spent * options_.throttle_ratio))) break;
  }
  return total;
}

}  // namespace amalgam::engine
