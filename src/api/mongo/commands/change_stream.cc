// Change streams: $changeStream aggregates and their getMores (docs/change-streams.md).
#include "api/mongo/commands/change_stream.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "api/mongo/service.h"
#include "bson/builder.h"
#include "bson/compare.h"
#include "engine/engine.h"
#include "query/pipeline.h"

namespace amalgam::api::mongo {
namespace {

constexpr int64_t kDefaultFirstBatch = 101;
constexpr int64_t kDefaultAwaitMillis = 1000;  // MongoDB's default for awaitData getMores
constexpr size_t kReadChunk = 256;             // change-log entries read at a time
constexpr size_t kMaxBatchBytes = 16 * 1024 * 1024 - 16 * 1024;
// A stream answered less than kBusyWindow ago is under a steady flow of events: its getMore
// first waits for the next tick of a grid on the steady clock before it reads, so each batch
// gathers the commits of a whole tick instead of one round trip per commit or two, and every
// busy stream wakes on the same ticks (docs/change-streams.md, "Batching"). It answers at once
// instead when kBacklog entries or more are already waiting. The tick is kBatchTick for one or
// two busy streams and kTickPerBusyStream per busy stream beyond, up to kMaxBatchTick: every
// batch costs a round trip on both sides (about 50 us of CPU in a libmongoc client, as much in
// the server), so the busy streams together answer about 1,000 batches a second however many
// there are, and an event waits at most kMaxBatchTick for its batch.
constexpr auto kBusyWindow = std::chrono::milliseconds(5);
constexpr auto kBatchTick = std::chrono::microseconds(2000);
constexpr auto kTickPerBusyStream = std::chrono::microseconds(1000);
constexpr auto kMaxBatchTick = std::chrono::microseconds(5000);
constexpr uint64_t kBacklog = 1024;

// The tick for `busy` busy streams.
std::chrono::microseconds BatchTick(int busy) {
  return std::clamp<std::chrono::microseconds>(kTickPerBusyStream * busy, kBatchTick, kMaxBatchTick);
}

// The first boundary of a `tick` grid on the steady clock after `t`.
std::chrono::steady_clock::time_point NextTick(std::chrono::steady_clock::time_point t, std::chrono::microseconds tick) {
  auto since = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  return std::chrono::steady_clock::time_point((since / tick + 1) * tick);
}

enum class Scope : uint8_t { kCollection, kDatabase, kCluster };
enum class PostImage : uint8_t { kDefault, kUpdateLookup, kWhenAvailable, kRequired };
enum class PreImage : uint8_t { kOff, kWhenAvailable, kRequired };

struct StreamSpec {
  Scope scope = Scope::kCollection;
  std::string db, coll;
  PostImage full_document = PostImage::kDefault;
  PreImage before = PreImage::kOff;
  bool show_expanded = false;
};

// ---- resume tokens --------------------------------------------------------------------------
// {_data: "<hex>"}: "A1" (format 1), the change-log seq (16 hex digits), then "00" for an
// event or a high-water mark (resume after that seq) or "01" for the invalidate event that
// follows the entry at that seq. Fixed width, so tokens sort as the events they name.

struct ResumePoint {
  uint64_t seq = 0;
  bool invalidate = false;
};

bson::Document EncodeToken(ResumePoint p) {
  static const char* kHex = "0123456789ABCDEF";
  std::string data = "A1";
  for (int i = 15; i >= 0; --i) data.push_back(kHex[(p.seq >> (4 * i)) & 0xF]);
  data += p.invalidate ? "01" : "00";
  bson::Builder b;
  b.AppendString("_data", data);
  return std::move(b).Finish();
}

Result<ResumePoint> DecodeToken(const bson::Value& v, std::string_view option) {
  auto bad = [&](std::string_view why) {
    return Status(ErrorCode::kInvalidResumeToken, "Invalid resume token in '" + std::string(option) + "': " + std::string(why));
  };
  if (v.type() != bson::BsonType::kDocument) return WrongTypeError("$changeStream", option, v, "object");
  bson::Value data = v.AsDocument().Get("_data");
  if (data.type() != bson::BsonType::kString) return bad("_data of missing or of wrong type");
  std::string_view s = data.AsString();
  if (s.size() != 20 || s.substr(0, 2) != "A1") return bad("not a token issued by this server");
  ResumePoint p;
  for (size_t i = 2; i < 18; ++i) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return bad("not a token issued by this server");
    p.seq = (p.seq << 4) | static_cast<uint64_t>(d);
  }
  if (s.substr(18) == "01") {
    p.invalidate = true;
  } else if (s.substr(18) != "00") {
    return bad("not a token issued by this server");
  }
  return p;
}

// The clusterTime of a commit: Timestamp(commit second, low 32 bits of its first seq). Every
// event of one commit shares it, and it grows along the log.
bson::TimestampValue ClusterTime(const storage::ChangeEntry& e) {
  return {static_cast<uint32_t>(e.commit_first_seq), static_cast<uint32_t>(e.commit_millis / 1000)};
}

bool TimestampBefore(bson::TimestampValue a, bson::TimestampValue b) {
  return a.seconds != b.seconds ? a.seconds < b.seconds : a.increment < b.increment;
}

// ---- events ---------------------------------------------------------------------------------

bool IsInternalDb(std::string_view db) { return db == "admin" || db == "config" || db == "local"; }

std::string_view CommandVerb(const storage::ChangeRecord& r);

// True for a rename whose target is db.coll (the watched collection is replaced by it).
bool RenamesInto(const storage::ChangeRecord& r, std::string_view db, std::string_view coll) {
  if (r.op != storage::ChangeOp::kCommand || CommandVerb(r) != "rename") return false;
  bson::Value to = r.command->view().Get("to");
  if (to.type() != bson::BsonType::kDocument) return false;
  bson::Value to_db = to.AsDocument().Get("db"), to_coll = to.AsDocument().Get("coll");
  return to_db.type() == bson::BsonType::kString && to_coll.type() == bson::BsonType::kString &&
         to_db.AsString() == db && to_coll.AsString() == coll;
}

bool InScope(const StreamSpec& spec, const storage::ChangeRecord& r) {
  if (r.collection.rfind("system.", 0) == 0) return false;
  switch (spec.scope) {
    case Scope::kCollection:
      // A rename into the watched collection shows to its stream too (then invalidates it), as
      // in MongoDB.
      return (r.db == spec.db && r.collection == spec.coll) || RenamesInto(r, spec.db, spec.coll);
    case Scope::kDatabase: return r.db == spec.db;
    case Scope::kCluster: return !IsInternalDb(r.db);
  }
  return false;
}

std::string_view CommandVerb(const storage::ChangeRecord& r) {
  if (!r.command || r.command->view().empty()) return {};
  return r.command->view().begin()->name;
}

// True when the entry ends a stream of this scope (it then emits invalidate after the event).
bool Invalidates(const StreamSpec& spec, const storage::ChangeRecord& r) {
  if (r.op != storage::ChangeOp::kCommand || !InScope(spec, r)) return false;
  std::string_view verb = CommandVerb(r);
  if (spec.scope == Scope::kCollection) return verb == "drop" || verb == "rename";
  if (spec.scope == Scope::kDatabase) return verb == "dropDatabase";
  return false;
}

// The fields every event starts with.
void AppendHeader(bson::Builder& b, const storage::ChangeEntry& e, ResumePoint p, std::string_view type) {
  b.AppendDocument("_id", EncodeToken(p).view());
  b.AppendString("operationType", type);
  bson::TimestampValue ts = ClusterTime(e);
  b.AppendTimestamp("clusterTime", ts.seconds, ts.increment);
  b.AppendDate("wallTime", e.commit_millis);
}

void AppendNs(bson::Builder& b, std::string_view name, std::string_view db, std::string_view coll) {
  b.StartDocument(name).AppendString("db", db);
  if (!coll.empty()) b.AppendString("coll", coll);
  b.EndDocument();
}

void AppendTxn(bson::Builder& b, const storage::ChangeRecord& r) {
  if (!r.txn) return;
  bson::Value txn_number = r.txn->view().Get("txnNumber");
  bson::Value lsid = r.txn->view().Get("lsid");
  if (!txn_number.missing()) b.AppendValue("txnNumber", txn_number);
  if (!lsid.missing()) b.AppendValue("lsid", lsid);
}

// Shapes change-log entries into events as a stream with a given spec shows them.
class EventBuilder {
 public:
  // `engine` may be null for a plain spec (IsPlain), which never reads the catalog or documents.
  EventBuilder(engine::Engine* engine, const StreamSpec& spec) : engine_(engine), spec_(spec) {}

  // Builds the event for `e` into `b`; false when the entry shows no event to this spec.
  Result<bool> Build(const storage::ChangeEntry& e, bson::Builder& b) {
    const storage::ChangeRecord& r = e.record;
    ResumePoint p{e.seq, false};
    switch (r.op) {
      case storage::ChangeOp::kInsert:
        AppendHeader(b, e, p, "insert");
        AppendUuid(b, r);
        if (r.post_image) b.AppendDocument("fullDocument", r.post_image->view());
        AppendNs(b, "ns", r.db, r.collection);
        if (r.document_key) b.AppendDocument("documentKey", r.document_key->view());
        break;
      case storage::ChangeOp::kUpdate:
      case storage::ChangeOp::kReplace: {
        bool replace = r.op == storage::ChangeOp::kReplace;
        AppendHeader(b, e, p, replace ? "replace" : "update");
        AppendUuid(b, r);
        if (replace && r.post_image) b.AppendDocument("fullDocument", r.post_image->view());
        AppendNs(b, "ns", r.db, r.collection);
        if (r.document_key) b.AppendDocument("documentKey", r.document_key->view());
        if (!replace) {
          AppendUpdateDescription(b, r);
          AMALGAM_RETURN_IF_ERROR(AppendPostImage(b, e));
        }
        AMALGAM_RETURN_IF_ERROR(AppendPreImage(b, e));
        break;
      }
      case storage::ChangeOp::kDelete:
        AppendHeader(b, e, p, "delete");
        AppendUuid(b, r);
        AppendNs(b, "ns", r.db, r.collection);
        if (r.document_key) b.AppendDocument("documentKey", r.document_key->view());
        AMALGAM_RETURN_IF_ERROR(AppendPreImage(b, e));
        break;
      case storage::ChangeOp::kCommand:
        if (!TranslateCommand(b, e, p)) return false;
        break;
    }
    AppendTxn(b, r);
    return true;
  }

  // Returns false when the command produces no event for this stream.
  bool TranslateCommand(bson::Builder& b, const storage::ChangeEntry& e, ResumePoint p) {
    const storage::ChangeRecord& r = e.record;
    std::string_view verb = CommandVerb(r);
    bson::DocView cmd = r.command->view();
    if (verb == "drop") {
      AppendHeader(b, e, p, "drop");
      AppendUuid(b, r);
      AppendNs(b, "ns", r.db, r.collection);
    } else if (verb == "rename") {
      bson::Value to = cmd.Get("to");
      if (to.type() != bson::BsonType::kDocument) return false;
      std::string_view to_db = to.AsDocument().Get("db").type() == bson::BsonType::kString ? to.AsDocument().Get("db").AsString() : "";
      std::string_view to_coll = to.AsDocument().Get("coll").type() == bson::BsonType::kString ? to.AsDocument().Get("coll").AsString() : "";
      AppendHeader(b, e, p, "rename");
      AppendUuid(b, r);
      AppendNs(b, "ns", r.db, r.collection);
      AppendNs(b, "to", to_db, to_coll);
      if (spec_.show_expanded) {
        b.StartDocument("operationDescription");
        AppendNs(b, "to", to_db, to_coll);
        b.EndDocument();
      }
    } else if (verb == "dropDatabase") {
      AppendHeader(b, e, p, "dropDatabase");
      AppendNs(b, "ns", r.db, "");
    } else if (!spec_.show_expanded) {
      return false;
    } else if (verb == "create") {
      AppendHeader(b, e, p, "create");
      AppendUuid(b, r);
      AppendNs(b, "ns", r.db, r.collection);
      b.StartDocument("operationDescription");
      b.StartDocument("idIndex").AppendInt32("v", 2).StartDocument("key").AppendInt32("_id", 1).EndDocument();
      b.AppendString("name", "_id_").EndDocument();
      b.EndDocument();
      b.AppendString("nsType", "collection");
    } else if (verb == "createIndexes" || verb == "dropIndexes") {
      AppendHeader(b, e, p, verb);
      AppendUuid(b, r);
      AppendNs(b, "ns", r.db, r.collection);
      b.StartDocument("operationDescription").StartArray("indexes");
      bson::Value spec = cmd.Get("spec");
      if (spec.type() == bson::BsonType::kDocument) {
        b.AppendDocument("0", spec.AsDocument());
      } else {
        bson::Value name = cmd.Get("index");
        b.StartDocument("0");
        if (!name.missing()) b.AppendValue("name", name);
        b.EndDocument();
      }
      b.EndArray().EndDocument();
    } else if (verb == "collMod") {
      AppendHeader(b, e, p, "modify");
      AppendUuid(b, r);
      AppendNs(b, "ns", r.db, r.collection);
      bson::Value options = cmd.Get("options");
      b.StartDocument("operationDescription");
      if (options.type() == bson::BsonType::kDocument) b.AppendElements(options.AsDocument());
      b.EndDocument();
    } else {
      return false;
    }
    return true;
  }

  // collectionUUID (showExpandedEvents): known while the collection that wrote the entry exists.
  void AppendUuid(bson::Builder& b, const storage::ChangeRecord& r) {
    if (!spec_.show_expanded) return;
    catalog::CollectionPtr c = engine_->catalog().Find(r.db, r.collection);
    if (c && c->id == r.collection_id) b.AppendBinary("collectionUUID", 4, c->uuid);
  }

  void AppendUpdateDescription(bson::Builder& b, const storage::ChangeRecord& r) {
    b.StartDocument("updateDescription");
    bson::DocView d = r.update ? r.update->view() : bson::DocView();
    auto field = [&](std::string_view name, bool array) {
      bson::Value v = d.empty() ? bson::Value() : d.Get(name);
      if (!v.missing()) {
        b.AppendValue(name, v);
      } else if (array) {
        b.StartArray(name).EndArray();
      } else {
        b.StartDocument(name).EndDocument();
      }
    };
    field("updatedFields", false);
    field("removedFields", true);
    field("truncatedArrays", true);
    b.EndDocument();
  }

  Status AppendPostImage(bson::Builder& b, const storage::ChangeEntry& e) {
    const storage::ChangeRecord& r = e.record;
    switch (spec_.full_document) {
      case PostImage::kDefault: return Status::OK();
      case PostImage::kUpdateLookup: {
        engine::HandlePtr h = engine_->Find(r.db, r.collection);
        std::optional<bson::Document> doc;
        if (h && h->info->id == r.collection_id && r.document_key) {
          AMALGAM_ASSIGN_OR_RETURN(doc, engine_->Read()->Get(*h, r.document_key->view().Get("_id")));
        }
        if (doc) {
          b.AppendDocument("fullDocument", doc->view());
        } else {
          b.AppendNull("fullDocument");
        }
        return Status::OK();
      }
      case PostImage::kWhenAvailable:
      case PostImage::kRequired:
        // Post-images are available where pre-images are recorded (changeStreamPreAndPostImages),
        // as in MongoDB, which derives them from the pre-image.
        if (r.pre_image && r.post_image) {
          b.AppendDocument("fullDocument", r.post_image->view());
        } else if (spec_.full_document == PostImage::kRequired) {
          return Status(ErrorCode::kNoMatchingDocument,
                        "Change stream was configured to require a post-image for all update events, but the post-image "
                        "was not found for the event on " + r.db + "." + r.collection +
                            " (enable changeStreamPreAndPostImages on the collection)");
        } else {
          b.AppendNull("fullDocument");
        }
        return Status::OK();
    }
    return Status::OK();
  }

  Status AppendPreImage(bson::Builder& b, const storage::ChangeEntry& e) {
    const storage::ChangeRecord& r = e.record;
    if (spec_.before == PreImage::kOff) return Status::OK();
    if (r.pre_image) {
      b.AppendDocument("fullDocumentBeforeChange", r.pre_image->view());
    } else if (spec_.before == PreImage::kRequired) {
      return Status(ErrorCode::kNoMatchingDocument,
                    "Change stream was configured to require a pre-image for all update, delete and replace events, but "
                    "the pre-image was not found for the event on " + r.db + "." + r.collection +
                        " (enable changeStreamPreAndPostImages on the collection)");
    } else {
      b.AppendNull("fullDocumentBeforeChange");
    }
    return Status::OK();
  }

  engine::Engine* engine_;
  const StreamSpec& spec_;
};

// A spec whose events depend on the entry alone (not on the catalog, the current documents or
// the stream's options): every such stream shows an entry's event with the same bytes.
bool IsPlain(const StreamSpec& spec) {
  return !spec.show_expanded && spec.full_document == PostImage::kDefault && spec.before == PreImage::kOff;
}

// ---- the shared tail of the change log ------------------------------------------------------
// Every stream of the process reads the recent change log through one ChangeLogTail per engine
// (docs/change-streams.md, "Sharing"): an entry is read from RocksDB and decoded once, and its
// event in the plain shape is built once, however many streams show it. Entries are immutable
// once shared; a stream copies the event bytes into its own batch.

// One change-log entry as the streams share it.
class SharedEntry {
 public:
  explicit SharedEntry(storage::ChangeEntry e) : entry(std::move(e)) {}
  const storage::ChangeEntry entry;

  ~SharedEntry() {
    const bson::Document* p = plain_.load(std::memory_order_acquire);
    if (p != &kNoEvent) delete p;
  }
  SharedEntry(const SharedEntry&) = delete;
  SharedEntry& operator=(const SharedEntry&) = delete;

  // The event as every plain stream shows it, built on first use; null when the entry shows
  // no event to plain streams (a catalog change only showExpandedEvents reports). Lock-free:
  // two streams that build it at once both build it, and the first to publish wins (the
  // event depends on the entry alone, so both are the same bytes). std::call_once here cost a
  // futex system call per entry (glibc wakes waiters after every initialization).
  const bson::Document* PlainEvent() const {
    const bson::Document* p = plain_.load(std::memory_order_acquire);
    if (p == nullptr) {
      static const StreamSpec kPlain;
      bson::Builder b;
      EventBuilder builder(nullptr, kPlain);
      Result<bool> has = builder.Build(entry, b);  // a plain spec never fails
      const bson::Document* built = has.ok() && *has ? new bson::Document(std::move(b).Finish()) : &kNoEvent;
      if (plain_.compare_exchange_strong(p, built, std::memory_order_acq_rel, std::memory_order_acquire)) {
        p = built;
      } else if (built != &kNoEvent) {
        delete built;  // another stream published first: p is its copy
      }
    }
    return p == &kNoEvent ? nullptr : p;
  }
  // Approximate memory held, for the tail's bound.
  size_t bytes() const {
    const storage::ChangeRecord& r = entry.record;
    auto size = [](const std::optional<bson::Document>& d) { return d ? d->bytes().size() : 0; };
    return 256 + r.db.size() + r.collection.size() + size(r.document_key) + 2 * size(r.post_image) +
           size(r.pre_image) + size(r.update) + size(r.command) + size(r.txn);
  }

 private:
  static inline const bson::Document kNoEvent{};  // plain_ for "no plain event"
  mutable std::atomic<const bson::Document*> plain_{nullptr};
};
using SharedEntryPtr = std::shared_ptr<const SharedEntry>;

class ChangeLogTail {
 public:
  static constexpr size_t kMaxEntries = 16384;
  static constexpr size_t kMaxBytes = 64 << 20;
  static constexpr size_t kFillChunk = 1024;

  // The tail of `engine`'s log, shared by every stream open on it (made on first use, gone
  // with the last stream that holds it).
  static std::shared_ptr<ChangeLogTail> For(engine::Engine& engine) {
    static std::mutex mu;
    static std::map<const engine::Engine*, std::weak_ptr<ChangeLogTail>> tails;
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = tails.begin(); it != tails.end();) {
      it = it->second.expired() ? tails.erase(it) : std::next(it);
    }
    std::weak_ptr<ChangeLogTail>& slot = tails[&engine];
    std::shared_ptr<ChangeLogTail> tail = slot.lock();
    if (!tail) {
      tail = std::make_shared<ChangeLogTail>(engine);
      slot = tail;
    }
    return tail;
  }

  explicit ChangeLogTail(engine::Engine& engine) : engine_(engine) {
    lo_ = hi_ = engine.store().LastVisibleSeq();
  }

  // How many streams on this engine are busy (answered within kBusyWindow when their getMore
  // came): each stream adds itself when it becomes busy and removes itself when a getMore finds
  // it idle or when it closes (StreamCursorSource).
  std::atomic<int> busy_streams{0};

  // Like engine::Engine::ReadChanges: entries with seq > after_seq, at most `limit`, and in
  // *scanned_through the seq the answer covers. Served from memory when `after_seq` is within
  // the tail (which then first takes in what was committed since it last grew); a reader
  // further behind reads the log itself, without caching.
  Result<std::vector<SharedEntryPtr>> Read(uint64_t after_seq, size_t limit, uint64_t* scanned_through) {
    std::vector<SharedEntryPtr> out;
    storage::Store& store = engine_.store();
    uint64_t trimmed = store.ChangeLogTrimmedThrough();
    if (after_seq < trimmed) {
      return Status(ErrorCode::kChangeStreamHistoryLost,
                    "Resume of change stream was not possible, as the resume point may no longer be in the change "
                    "log (entries up to " + std::to_string(trimmed) + " have been removed by retention)");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (store.LastVisibleSeq() < hi_) {  // not the log this tail was made from: start again
        entries_.clear();
        bytes_ = 0;
        lo_ = hi_ = store.LastVisibleSeq();
      }
      if (after_seq >= lo_) {
        AMALGAM_RETURN_IF_ERROR(GrowLocked());
        auto it = std::upper_bound(entries_.begin(), entries_.end(), after_seq,
                                   [](uint64_t seq, const SharedEntryPtr& e) { return seq < e->entry.seq; });
        for (; it != entries_.end() && out.size() < limit; ++it) out.push_back(*it);
        *scanned_through = out.size() == limit && limit > 0 ? out.back()->entry.seq : std::max(after_seq, hi_);
        return out;
      }
    }
    AMALGAM_ASSIGN_OR_RETURN(std::vector<storage::ChangeEntry> entries,
                             engine_.ReadChanges(after_seq, limit, scanned_through));
    out.reserve(entries.size());
    for (storage::ChangeEntry& e : entries) out.push_back(std::make_shared<const SharedEntry>(std::move(e)));
    return out;
  }

 private:
  // Takes in the entries committed since the tail last grew, then drops the oldest beyond the
  // bounds.
  Status GrowLocked() {
    while (engine_.store().LastVisibleSeq() > hi_) {
      uint64_t scanned = hi_;
      AMALGAM_ASSIGN_OR_RETURN(std::vector<storage::ChangeEntry> entries, engine_.ReadChanges(hi_, kFillChunk, &scanned));
      for (storage::ChangeEntry& e : entries) {
        auto shared = std::make_shared<const SharedEntry>(std::move(e));
        bytes_ += shared->bytes();
        entries_.push_back(std::move(shared));
      }
      hi_ = std::max(hi_, scanned);
      if (entries.size() < kFillChunk) break;
    }
    while (!entries_.empty() && (entries_.size() > kMaxEntries || bytes_ > kMaxBytes)) {
      lo_ = entries_.front()->entry.seq;
      bytes_ -= entries_.front()->bytes();
      entries_.pop_front();
    }
    return Status::OK();
  }

  engine::Engine& engine_;
  std::mutex mu_;
  std::deque<SharedEntryPtr> entries_;  // every entry in (lo_, hi_], by seq
  uint64_t lo_ = 0, hi_ = 0;
  size_t bytes_ = 0;
};

// The change-log pump: reads entries after a position and turns those in scope into events,
// queued with the resume point each one stands for.
class EventSource final : public engine::DocumentSource {
 public:
  EventSource(engine::Engine& engine, StreamSpec spec, uint64_t after_seq)
      : engine_(engine),
        spec_(std::move(spec)),
        builder_(&engine_, spec_),
        tail_(ChangeLogTail::For(engine)),
        after_seq_(after_seq),
        last_{after_seq, false} {}

  // Queues the invalidate that follows the invalidating entry at `seq` (resuming from the
  // token of a drop or rename event of the watched collection).
  Status QueueInvalidateIfAt(uint64_t seq) {
    if (seq == 0) return Status::OK();
    AMALGAM_ASSIGN_OR_RETURN(std::vector<storage::ChangeEntry> at, engine_.ReadChanges(seq - 1, 1));
    if (at.empty() || at[0].seq != seq || !Invalidates(spec_, at[0].record)) return Status::OK();
    QueueInvalidate(at[0]);
    return Status::OK();
  }

  Result<bool> Next(bson::Document* out) override {
    bson::DocView view;
    AMALGAM_ASSIGN_OR_RETURN(bool more, NextView(&view));
    if (!more) return false;
    *out = current_.own ? std::move(*current_.own) : bson::Document(view);
    current_.own.reset();
    return true;
  }

  // Next without a copy: *view is the event, valid until the next call. A plain stream's event
  // is the shared entry's bytes (docs/change-streams.md, "Sharing"), so the batch copies each
  // event once, from the tail into the reply.
  Result<bool> NextView(bson::DocView* view) {
    while (true) {
      if (!queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        last_ = current_.point;
        if (last_.invalidate) done_ = true;
        *view = current_.own ? current_.own->view() : current_.shared->PlainEvent()->view();
        return true;
      }
      if (done_ || stop_reading_) return false;
      uint64_t scanned = after_seq_;
      AMALGAM_ASSIGN_OR_RETURN(std::vector<SharedEntryPtr> entries, tail_->Read(after_seq_, kReadChunk, &scanned));
      for (const SharedEntryPtr& e : entries) {
        after_seq_ = e->entry.seq;
        AMALGAM_RETURN_IF_ERROR(Translate(e));
        if (stop_reading_) break;
      }
      if (!stop_reading_) after_seq_ = std::max(after_seq_, scanned);
      if (queue_.empty()) {
        last_ = {after_seq_, false};  // high-water mark: everything up to here is delivered
        if (entries.empty() || stop_reading_) return false;
      }
    }
  }

  // The token of the point the stream has delivered up to.
  bson::Document CurrentToken() const { return EncodeToken(last_); }
  // The point of the last event produced (its _id is EncodeToken of it), or the high-water mark.
  ResumePoint last_point() const { return last_; }
  uint64_t scanned_through() const { return after_seq_; }
  bool invalidated() const { return done_; }
  ChangeLogTail& tail() { return *tail_; }

 private:
  Status Translate(const SharedEntryPtr& shared) {
    const storage::ChangeEntry& e = shared->entry;
    if (!InScope(spec_, e.record)) return Status::OK();
    ResumePoint p{e.seq, false};
    if (IsPlain(spec_)) {
      if (shared->PlainEvent()) queue_.push_back(Queued{p, shared, std::nullopt});
    } else {
      bson::Builder b;
      AMALGAM_ASSIGN_OR_RETURN(bool has, builder_.Build(e, b));
      if (has) queue_.push_back(Queued{p, nullptr, std::move(b).Finish()});
    }
    if (Invalidates(spec_, e.record)) QueueInvalidate(e);
    return Status::OK();
  }

  void QueueInvalidate(const storage::ChangeEntry& e) {
    ResumePoint p{e.seq, true};
    bson::Builder b;
    AppendHeader(b, e, p, "invalidate");
    queue_.push_back(Queued{p, nullptr, std::move(b).Finish()});
    stop_reading_ = true;
    after_seq_ = e.seq;
  }

  engine::Engine& engine_;
  StreamSpec spec_;
  EventBuilder builder_;  // refers to spec_
  std::shared_ptr<ChangeLogTail> tail_;
  uint64_t after_seq_;
  // An event waiting to be produced: a plain stream's is the shared entry's PlainEvent (no
  // copy), any other's is built for this stream.
  struct Queued {
    ResumePoint point;
    SharedEntryPtr shared;
    std::optional<bson::Document> own;
  };
  ResumePoint last_;
  std::deque<Queued> queue_;
  Queued current_;  // the event NextView returned last
  bool stop_reading_ = false;  // an invalidate is queued: read no further
  bool done_ = false;          // the invalidate has been produced
};

// The cursor's source: the events through the stages that follow $changeStream.
class StreamSource final : public engine::DocumentSource {
 public:
  StreamSource(std::unique_ptr<EventSource> events, const query::Pipeline* pipeline) : events_(events.get()) {
    if (!pipeline) {
      direct_ = std::move(events);  // nothing to run the events through
      return;
    }
    stage_ = pipeline->Build(query::MakeSourceStage(std::move(events)));
  }
  Result<bool> Next(bson::Document* out) override {
    if (direct_) return direct_->Next(out);
    query::Row row;
    AMALGAM_ASSIGN_OR_RETURN(bool more, stage_->Next(&row));
    if (!more) return false;
    bson::Value id = row.doc.view().Get("_id");
    if (id.type() != bson::BsonType::kDocument ||
        bson::CompareDocuments(id.AsDocument(), EncodeToken(events_->last_point()).view()) != 0) {
      return Status(ErrorCode::kChangeStreamFatalError,
                    "Encountered an event whose _id field, which contains the resume token, was modified by the "
                    "pipeline. Modifying the _id field of an event makes it impossible to resume the stream from that "
                    "point. Only transformations that retain the unmodified _id field are allowed.");
    }
    *out = std::move(row.doc);
    return true;
  }
  EventSource& events() { return *events_; }
  // True when no stage follows $changeStream: the events are the stream's documents as they
  // are, so a batch can take them with EventSource::NextView.
  bool direct() const { return direct_ != nullptr; }

 private:
  EventSource* events_;                  // direct_ or owned inside stage_
  std::unique_ptr<EventSource> direct_;  // without a pipeline
  std::unique_ptr<query::Stage> stage_;  // with one
};

// ---- options --------------------------------------------------------------------------------

struct OpenOptions {
  StreamSpec spec;
  std::optional<ResumePoint> resume_after, start_after;
  std::optional<bson::TimestampValue> start_at;
  bool all_for_cluster = false;
};

Result<OpenOptions> ParseStage(bson::DocView stage) {
  OpenOptions o;
  for (const bson::Element& e : stage) {
    const bson::Value& v = e.value;
    auto want_string = [&]() -> Result<std::string_view> {
      if (v.type() != bson::BsonType::kString) return WrongTypeError("$changeStream", e.name, v, "string");
      return v.AsString();
    };
    auto bad_enum = [&](std::string_view s) {
      return Status(ErrorCode::kBadValue, "Enumeration value '" + std::string(s) + "' for field '$changeStream." +
                                              std::string(e.name) + "' is not a valid value.");
    };
    if (e.name == "allChangesForCluster") {
      if (v.type() != bson::BsonType::kBool) return WrongTypeError("$changeStream", e.name, v, "bool");
      o.all_for_cluster = v.AsBool();
    } else if (e.name == "fullDocument") {
      AMALGAM_ASSIGN_OR_RETURN(std::string_view s, want_string());
      if (s == "default") o.spec.full_document = PostImage::kDefault;
      else if (s == "updateLookup") o.spec.full_document = PostImage::kUpdateLookup;
      else if (s == "whenAvailable") o.spec.full_document = PostImage::kWhenAvailable;
      else if (s == "required") o.spec.full_document = PostImage::kRequired;
      else return bad_enum(s);
    } else if (e.name == "fullDocumentBeforeChange") {
      AMALGAM_ASSIGN_OR_RETURN(std::string_view s, want_string());
      if (s == "off") o.spec.before = PreImage::kOff;
      else if (s == "whenAvailable") o.spec.before = PreImage::kWhenAvailable;
      else if (s == "required") o.spec.before = PreImage::kRequired;
      else return bad_enum(s);
    } else if (e.name == "resumeAfter") {
      AMALGAM_ASSIGN_OR_RETURN(o.resume_after, DecodeToken(v, "resumeAfter"));
    } else if (e.name == "startAfter") {
      AMALGAM_ASSIGN_OR_RETURN(o.start_after, DecodeToken(v, "startAfter"));
    } else if (e.name == "startAtOperationTime") {
      if (v.type() != bson::BsonType::kTimestamp) return WrongTypeError("$changeStream", e.name, v, "timestamp");
      o.start_at = v.AsTimestamp();
    } else if (e.name == "showExpandedEvents") {
      if (v.type() != bson::BsonType::kBool) return WrongTypeError("$changeStream", e.name, v, "bool");
      o.spec.show_expanded = v.AsBool();
    } else if (e.name == "showRawUpdateDescription" || e.name == "showSystemEvents" || e.name == "allowToRunOnConfigDB" ||
               e.name == "allowToRunOnSystemNS") {
      continue;  // accepted, no effect here
    } else {
      return Status(ErrorCode::kUnknownField, "BSON field '$changeStream." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (o.resume_after && o.start_after) {
    return Status(ErrorCode::kLocation50865, "Do not specify both 'startAfter' and 'resumeAfter' in the $changeStream stage");
  }
  if (o.start_at && (o.resume_after || o.start_after)) {
    return Status(ErrorCode::kLocation40674, "Only one type of resume option is allowed, but multiple were found.");
  }
  if (o.resume_after && o.resume_after->invalidate) {
    return Status(ErrorCode::kInvalidResumeToken,
                  "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate "
                  "notification.");
  }
  return o;
}

// The seq after which a stream starting at cluster time `t` begins: the entries before the
// first one whose clusterTime is >= t. Binary search: commit times grow along the log.
Result<uint64_t> SeqBeforeTime(engine::Engine& engine, bson::TimestampValue t) {
  storage::Store& store = engine.store();
  uint64_t lo = store.ChangeLogTrimmedThrough() + 1, hi = store.LastVisibleSeq() + 1;  // answer in [lo, hi]
  uint64_t first = lo;
  bool checked_first = false;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    AMALGAM_ASSIGN_OR_RETURN(std::vector<storage::ChangeEntry> at, engine.ReadChanges(mid - 1, 1));
    if (at.empty()) {
      hi = mid;
      continue;
    }
    if (!checked_first && mid == first) checked_first = true;
    if (TimestampBefore(ClusterTime(at[0]), t)) {
      lo = at[0].seq + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == first && store.ChangeLogTrimmedThrough() > 0) {
    // Everything retained is at or after t: has history before t been removed?
    AMALGAM_ASSIGN_OR_RETURN(std::vector<storage::ChangeEntry> head, engine.ReadChanges(first - 1, 1));
    if (!head.empty() && TimestampBefore(t, ClusterTime(head[0]))) {
      return Status(ErrorCode::kChangeStreamHistoryLost,
                    "Resume of change stream was not possible, as the resume point may no longer be in the change log "
                    "(startAtOperationTime is older than the retained history)");
    }
  }
  return lo - 1;
}

Status AppendAllowedStages(bson::DocView pipeline, bson::Builder& rest) {
  size_t i = 0;
  for (const bson::Element& e : pipeline) {
    if (i++ == 0) continue;
    if (e.value.type() != bson::BsonType::kDocument) {
      return Status(ErrorCode::kTypeMismatch, "Each element of the 'pipeline' array must be an object");
    }
    bson::DocView stage = e.value.AsDocument();
    std::string_view name = stage.empty() ? std::string_view() : stage.begin()->name;
    if (name == "$changeStream") {
      return Status(ErrorCode::kLocation40602, "$changeStream is only valid as the first stage in a pipeline.");
    }
    static constexpr std::string_view kAllowed[] = {"$match", "$project", "$addFields", "$set", "$unset",
                                                   "$replaceRoot", "$replaceWith", "$redact"};
    if (std::find(std::begin(kAllowed), std::end(kAllowed), name) == std::end(kAllowed)) {
      return Status(ErrorCode::kIllegalOperation, std::string(name) + " is not permitted in a $changeStream pipeline");
    }
    rest.AppendDocument(std::to_string(i - 2), stage);
  }
  return Status::OK();
}

// The cursor-level state of a stream: the source plus the pipeline it keeps alive.
class StreamCursorSource final : public engine::DocumentSource {
 public:
  StreamCursorSource(std::unique_ptr<query::Pipeline> pipeline, std::unique_ptr<EventSource> events)
      : pipeline_(std::move(pipeline)), source_(std::move(events), pipeline_.get()) {}
  ~StreamCursorSource() override { SetBusy(false); }
  StreamCursorSource(const StreamCursorSource&) = delete;
  StreamCursorSource& operator=(const StreamCursorSource&) = delete;

  // Counts this stream in (or out of) its tail's busy streams.
  void SetBusy(bool busy) {
    if (busy == counted_busy_) return;
    counted_busy_ = busy;
    events().tail().busy_streams.fetch_add(busy ? 1 : -1, std::memory_order_relaxed);
  }
  Result<bool> Next(bson::Document* out) override { return source_.Next(out); }
  EventSource& events() { return source_.events(); }
  bool direct() const { return source_.direct(); }

  // getMore bookkeeping (a cursor serves one request at a time).
  std::chrono::steady_clock::time_point await_deadline{};  // of the getMore in progress
  std::chrono::steady_clock::time_point last_answer{};     // when the last non-empty batch went out
  bool coalescing = false;  // the getMore in progress has waited for a tick to gather events
  ResumePoint pending_point;  // of Cursor::pending (the event held back for the next batch)

 private:
  std::unique_ptr<query::Pipeline> pipeline_;
  StreamSource source_;
  bool counted_busy_ = false;
};

StreamCursorSource* AsStream(const Cursor& cursor) { return dynamic_cast<StreamCursorSource*>(cursor.source.get()); }

// Fills a batch: up to batch_size events (0: no count limit), within the reply size limit.
// Never waits. Appends {<field>: [...], postBatchResumeToken} and returns how many events.
// On an error `out` is left half-built (the caller answers the error instead).
Result<int64_t> AppendBatch(Cursor& cursor, int64_t batch_size, std::string_view field, bson::Builder& out) {
  StreamCursorSource* stream = AsStream(cursor);
  EventSource& events = stream->events();
  out.StartArray(field);
  bson::ArrayBuilder a(out);
  size_t bytes = 0;
  std::optional<ResumePoint> last_returned;
  while (batch_size <= 0 || a.count() < batch_size) {
    bson::DocView next;
    ResumePoint point;
    if (cursor.pending) {
      next = cursor.pending->view();
      point = stream->pending_point;
    } else if (stream->direct()) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, events.NextView(&next));
      if (!more) break;
      point = events.last_point();
    } else {
      bson::Document doc;
      AMALGAM_ASSIGN_OR_RETURN(bool more, stream->Next(&doc));
      if (!more) break;
      cursor.pending = std::move(doc);
      stream->pending_point = events.last_point();  // the pipeline keeps each event's _id
      next = cursor.pending->view();
      point = stream->pending_point;
    }
    size_t size = next.bytes_view().size();
    if (a.count() > 0 && bytes + size > kMaxBatchBytes) {
      if (!cursor.pending) {
        cursor.pending = bson::Document(next);  // held back for the next batch
        stream->pending_point = point;
      }
      break;
    }
    out.AppendDocument(a.Next(), next);
    bytes += size;
    last_returned = point;
    cursor.pending.reset();
  }
  int64_t n = a.count();
  out.EndArray();
  // With an event held back for the next batch, the stream has only delivered up to the last
  // one returned.
  bson::Document pbrt = cursor.pending && last_returned ? EncodeToken(*last_returned) : events.CurrentToken();
  out.AppendDocument("postBatchResumeToken", pbrt.view());
  return n;
}

void AppendCursor(bson::Builder& r, int64_t id, const std::string& ns) {
  r.AppendInt64("id", id);
  r.AppendString("ns", ns);
}

}  // namespace

bool IsChangeStreamAggregate(bson::DocView cmd) {
  bson::Value p = cmd.Get("pipeline");
  if (p.type() != bson::BsonType::kArray) return false;
  for (const bson::Element& e : p.AsDocument()) {
    if (e.value.type() == bson::BsonType::kDocument && !e.value.AsDocument().empty() &&
        e.value.AsDocument().begin()->name == "$changeStream") {
      return true;
    }
  }
  return false;
}

bool IsChangeStreamCursor(const Cursor& cursor) { return AsStream(cursor) != nullptr; }

Status ChangeStreamAggregate(CommandContext& ctx, bson::Builder& r) {
  bson::Value target = ctx.cmd.begin()->value;
  bool collectionless = target.IsNumber() && target.NumberAsDouble() == 1;
  std::string coll;
  if (!collectionless) {
    AMALGAM_ASSIGN_OR_RETURN(coll, CollectionArg(ctx));
  }
  int64_t batch_size = kDefaultFirstBatch;
  int64_t max_time_ms = -1;
  bson::DocView pipeline = ctx.cmd.Get("pipeline").AsDocument();
  bool have_cursor = false;
  for (const bson::Element& e : ctx.cmd) {
    if (e.name == ctx.cmd.begin()->name || e.name == "pipeline") continue;
    if (e.name == "cursor") {
      if (e.value.type() != bson::BsonType::kDocument) return WrongTypeError("aggregate", "cursor", e.value, "object");
      have_cursor = true;
      bson::Value bs = e.value.AsDocument().Get("batchSize");
      if (!bs.missing()) {
        AMALGAM_ASSIGN_OR_RETURN(batch_size, IntegerArg(bs, "batchSize"));
        if (batch_size < 0) {
          return Status(ErrorCode::kFieldValueOutOfRange,
                        "BSON field 'batchSize' value must be >= 0, actual value '" + std::to_string(batch_size) + "'");
        }
      }
    } else if (e.name == "maxTimeMS") {
      AMALGAM_ASSIGN_OR_RETURN(max_time_ms, IntegerArg(e.value, "maxTimeMS"));
    } else if (e.name == "explain") {
      return Status(ErrorCode::kIllegalOperation, "explain of a $changeStream pipeline is not supported");
    } else if (e.name == "collation" || e.name == "readConcern" || e.name == "writeConcern" || e.name == "let" ||
               e.name == "allowDiskUse" || e.name == "hint" || e.name == "comment" || IsGenericArgument(e.name)) {
      continue;
    } else {
      return Status(ErrorCode::kUnknownField, "BSON field 'aggregate." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (!have_cursor) {
    return Status(ErrorCode::kFailedToParse, "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  bson::Value first = pipeline.begin()->value;
  if (first.type() != bson::BsonType::kDocument || first.AsDocument().empty() ||
      first.AsDocument().begin()->name != "$changeStream") {
    return Status(ErrorCode::kLocation40602, "$changeStream is only valid as the first stage in a pipeline.");
  }
  bson::Value stage = first.AsDocument().begin()->value;
  if (stage.type() != bson::BsonType::kDocument) {
    return Status(ErrorCode::kFailedToParse, "the $changeStream stage must be specified as an object");
  }
  AMALGAM_ASSIGN_OR_RETURN(OpenOptions o, ParseStage(stage.AsDocument()));
  o.spec.db = ctx.db;
  o.spec.coll = coll;
  if (o.all_for_cluster) {
    if (ctx.db != "admin" || !collectionless) {
      return Status(ErrorCode::kInvalidOptions,
                    "A $changeStream with 'allChangesForCluster:true' may only be opened on the 'admin' database, and "
                    "with no collection name");
    }
    o.spec.scope = Scope::kCluster;
  } else {
    if (IsInternalDb(ctx.db)) {
      return Status(ErrorCode::kInvalidNamespace, "$changeStream may not be opened on the internal " + ctx.db + " database");
    }
    if (!collectionless && coll.rfind("system.", 0) == 0) {
      return Status(ErrorCode::kInvalidNamespace, "$changeStream may not be opened on the internal " + ctx.db + "." + coll +
                                                      " collection");
    }
    o.spec.scope = collectionless ? Scope::kDatabase : Scope::kCollection;
  }

  bson::Builder rest;
  AMALGAM_RETURN_IF_ERROR(AppendAllowedStages(pipeline, rest));
  bson::Document rest_doc = std::move(rest).Finish();
  std::unique_ptr<query::Pipeline> compiled;
  if (!rest_doc.view().empty()) {
    query::PipelineContext pctx;
    AMALGAM_ASSIGN_OR_RETURN(query::Pipeline p, query::Pipeline::Compile(rest_doc.view(), pctx));
    compiled = std::make_unique<query::Pipeline>(std::move(p));
  }

  // Where the stream starts.
  storage::Store& store = ctx.engine.store();
  uint64_t after = store.LastVisibleSeq();
  std::optional<ResumePoint> from = o.resume_after ? o.resume_after : o.start_after;
  if (from) after = from->seq;
  if (o.start_at) {
    AMALGAM_ASSIGN_OR_RETURN(after, SeqBeforeTime(ctx.engine, *o.start_at));
  }
  if (after < store.ChangeLogTrimmedThrough()) {
    return Status(ErrorCode::kChangeStreamHistoryLost,
                  "Resume of change stream was not possible, as the resume point may no longer be in the change log "
                  "(entries up to " + std::to_string(store.ChangeLogTrimmedThrough()) + " have been removed by retention)");
  }
  auto events = std::make_unique<EventSource>(ctx.engine, o.spec, after);
  if (from && !from->invalidate) AMALGAM_RETURN_IF_ERROR(events->QueueInvalidateIfAt(from->seq));

  std::string ns = collectionless ? ctx.db + ".$cmd.aggregate" : ctx.db + "." + coll;
  auto cursor = std::make_unique<Cursor>();
  cursor->ns = ns;
  cursor->connection_id = ctx.conn.connection_id;
  cursor->source = std::make_unique<StreamCursorSource>(std::move(compiled), std::move(events));
  cursor->remaining_time_ms = max_time_ms;
  ctx.service.stats().query++;

  r.StartDocument("cursor");
  if (batch_size > 0) {
    Result<int64_t> first = AppendBatch(*cursor, batch_size, "firstBatch", r);
    if (!first.ok()) return first.status();
  } else {
    r.StartArray("firstBatch").EndArray();
    r.AppendDocument("postBatchResumeToken", AsStream(*cursor)->events().CurrentToken().view());
  }
  int64_t id = 0;
  if (!AsStream(*cursor)->events().invalidated()) {
    cursor->last_used_millis = ctx.service.clock().NowMillis();
    id = ctx.service.cursors().Register(std::move(cursor));
  }
  AppendCursor(r, id, ns);
  r.EndDocument();
  return Status::OK();
}

Status ChangeStreamGetMore(CommandContext& ctx, std::unique_ptr<Cursor> cursor, int64_t batch_size, bson::Builder& r) {
  int64_t id = cursor->id;
  StreamCursorSource* stream = AsStream(*cursor);
  auto now = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point deadline;
  if (ctx.conn.await.rerun) {
    // A caller that stops honouring AwaitRequest mid-wait is shutting down: answer now.
    deadline = ctx.conn.can_await ? stream->await_deadline : now;
  } else {
    int64_t await_ms = kDefaultAwaitMillis;
    bson::Value v = ctx.cmd.Get("maxTimeMS");
    if (!v.missing()) {
      auto ms = IntegerArg(v, "maxTimeMS");
      if (!ms.ok()) {
        ctx.service.cursors().CheckIn(std::move(cursor));
        return ms.status();
      }
      await_ms = std::max<int64_t>(0, *ms);
    }
    deadline = now + std::chrono::milliseconds(await_ms);
    stream->await_deadline = deadline;
    stream->coalescing = false;
  }
  if (!ctx.conn.await.rerun) stream->SetBusy(now - stream->last_answer < kBusyWindow);
  if (ctx.conn.can_await && !stream->coalescing && now < deadline && now - stream->last_answer < kBusyWindow &&
      ctx.engine.store().LastVisibleSeq() < stream->events().scanned_through() + kBacklog) {
    // Events are flowing: wait for the next tick to gather them into one batch. No commit ends
    // this wait early (after_seq cannot be passed), only the tick.
    stream->coalescing = true;
    ctx.conn.await.requested = true;
    ctx.conn.await.after_seq = UINT64_MAX;
    auto tick = BatchTick(stream->events().tail().busy_streams.load(std::memory_order_relaxed));
    ctx.conn.await.deadline = std::min(deadline, NextTick(now, tick));
    cursor->last_used_millis = ctx.service.clock().NowMillis();
    ctx.service.cursors().CheckIn(std::move(cursor));
    return Status::OK();
  }
  while (true) {
    bson::Builder body;
    Result<int64_t> n = AppendBatch(*cursor, batch_size, "nextBatch", body);
    if (!n.ok()) {
      ctx.service.cursors().Discard(id);
      return n.status();
    }
    bool invalidated = stream->events().invalidated();
    if (*n == 0 && !invalidated && std::chrono::steady_clock::now() < deadline) {
      uint64_t seen = stream->events().scanned_through();
      if (ctx.conn.can_await) {
        // Answer later: the caller waits for the log to pass `seen` (or the deadline) without
        // holding its thread, then runs this getMore again.
        ctx.conn.await.requested = true;
        ctx.conn.await.after_seq = seen;
        ctx.conn.await.deadline = deadline;
        cursor->last_used_millis = ctx.service.clock().NowMillis();
        ctx.service.cursors().CheckIn(std::move(cursor));
        return Status::OK();
      }
      ctx.engine.store().WaitForSeqAfter(seen, deadline);
      continue;
    }
    if (*n > 0) stream->last_answer = std::chrono::steady_clock::now();
    bson::Document body_doc = std::move(body).Finish();
    r.StartDocument("cursor");
    r.AppendElements(body_doc.view());
    if (invalidated) {
      ctx.service.cursors().Discard(id);
      AppendCursor(r, 0, cursor->ns);
    } else {
      std::string ns = cursor->ns;
      cursor->last_used_millis = ctx.service.clock().NowMillis();
      ctx.service.cursors().CheckIn(std::move(cursor));
      AppendCursor(r, id, ns);
    }
    r.EndDocument();
    return Status::OK();
  }
}

}  // namespace amalgam::api::mongo
