// $group (its accumulators are in pipeline_accumulators.cc) and $sortByCount (a $group followed
// by a $sort).

#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "query/pipeline_accumulators.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"
#include "query/sort.h"
#include "storage/key_codec.h"

namespace amalgam::query::pipeline_internal {

using bson::BsonType;

namespace {

struct GroupDef {
  std::unique_ptr<Expression> id;
  std::vector<AccDef> accs;
};

// ---- the stage ------------------------------------------------------------------------------

// A hash of `v` consistent with bson::CompareValues equality: numbers that compare equal (5,
// 5L, 5.0, decimal 5) hash alike (integral values by their int64, others by their double, NaNs
// alike), strings and symbols by their text; other values by their order-preserving key
// encoding (storage/key_codec.h), which is identical for values that compare equal.
uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

constexpr double kIntegralHashBound = 9.2e18;  // integral doubles within it hash as int64

uint64_t HashDouble(double d) {
  if (std::isnan(d)) return Mix(0x7ff8000000000001ULL);
  if (d >= -kIntegralHashBound && d <= kIntegralHashBound && d == std::trunc(d)) {
    return Mix(static_cast<uint64_t>(static_cast<int64_t>(d)));  // -0.0 as 0
  }
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return Mix(bits ^ 0x5bd1e995ULL);
}

uint64_t HashKey(const bson::Value& v, std::string* scratch) {
  switch (v.type()) {
    // Every number by its (rounded) double: values that compare equal round alike, whatever
    // their types (an int64 beyond 2^53 shares its hash with its neighbours, which is fine).
    case BsonType::kInt32:
      return HashDouble(static_cast<double>(v.AsInt32()));
    case BsonType::kInt64:
      return HashDouble(static_cast<double>(v.AsInt64()));
    case BsonType::kDouble:
      return HashDouble(v.AsDouble());
    case BsonType::kDecimal128:
      return HashDouble(v.NumberAsDouble());
    case BsonType::kString:
    case BsonType::kSymbol:
      return Mix(std::hash<std::string_view>{}(v.AsString()) ^ 0x2545f491ULL);
    default: {
      scratch->clear();
      std::string bits;
      storage::AppendValue(scratch, &bits, v, false);
      return Mix(std::hash<std::string_view>{}(*scratch) ^ 0x9e3779b9ULL);
    }
  }
}

// bson::CompareValues(a, b) == 0, without its generality for the common same-type keys.
bool KeyEquals(const bson::Value& a, const bson::Value& b) {
  if (a.type() == b.type()) {
    switch (a.type()) {
      case BsonType::kInt32:
        return a.AsInt32() == b.AsInt32();
      case BsonType::kInt64:
        return a.AsInt64() == b.AsInt64();
      case BsonType::kString:
        return a.AsString() == b.AsString();
      default:
        break;
    }
  }
  return bson::CompareValues(a, b) == 0;
}

// The groups of one input (or of one _id range of it), in the order their first document came.
// An open-addressing table of group positions by a hash consistent with key equality: one probe
// and one comparison per document, no allocation unless the group is new.
class GroupTable {
 public:
  explicit GroupTable(const GroupDef* def) : def_(def) {}
  GroupTable(GroupTable&&) = default;
  GroupTable& operator=(GroupTable&&) = default;

  Status Add(bson::DocView doc) {
    ExprEvalContext ectx;
    ectx.root = doc;
    AMALGAM_ASSIGN_OR_RETURN(ExprValue id, def_->id->Evaluate(ectx));
    const bson::Value& key = id.missing() ? NullValue() : id.value();
    uint64_t h = HashKey(key, &scratch_);
    size_t slot = Find(key, h);
    uint32_t gi = slots_.empty() ? kEmpty : slots_[slot].group;
    if (gi == kEmpty) {
      Group& g = NewGroup(key, h);
      for (const AccDef& a : def_->accs) g.states.push_back(a.New());
      fixed_ += Overhead(g);
      gi = static_cast<uint32_t>(groups_.size() - 1);
    }
    Group& g = groups_[gi];
    for (size_t i = 0; i < def_->accs.size(); ++i) {
      const AccDef& a = def_->accs[i];
      AccState& st = *g.states[i];
      size_t before = st.bytes;
      if (!a.arg) {
        AMALGAM_RETURN_IF_ERROR(st.Process(One()));
      } else {
        AMALGAM_ASSIGN_OR_RETURN(ExprValue v, a.arg->Evaluate(ectx));
        AMALGAM_RETURN_IF_ERROR(st.ProcessDoc(v, doc));
      }
      if (st.bytes != before) {
        variable_ += st.bytes;
        variable_ -= std::min(variable_, before);
      }
    }
    return Status::OK();
  }

  // Bytes held, as the memory limit counts them.
  size_t bytes() const { return fixed_ + variable_; }
  size_t size() const { return groups_.size(); }

  // Folds in `later`, the groups of the documents after all of this table's. Returns false
  // when a merged accumulator could differ from the serial result (this table is then unusable).
  bool MergeLater(GroupTable&& later) {
    for (Group& lg : later.groups_) {
      size_t slot = Find(lg.value, lg.hash);
      uint32_t gi = slots_.empty() ? kEmpty : slots_[slot].group;
      if (gi == kEmpty) {
        Group& g = NewGroup(lg.value, lg.hash);
        g.states = std::move(lg.states);
        fixed_ += Overhead(g);
        for (const auto& st : g.states) variable_ += st->bytes;
        continue;
      }
      Group& g = groups_[gi];
      for (size_t i = 0; i < g.states.size(); ++i) {
        size_t before = g.states[i]->bytes;
        if (!g.states[i]->Merge(*lg.states[i])) return false;
        variable_ += g.states[i]->bytes;
        variable_ -= std::min(variable_, before);
      }
    }
    later = GroupTable(def_);
    return true;
  }

  // The output document of group `i` (each group once, in order; releases the group).
  bson::Document Emit(size_t i) {
    Group& g = groups_[i];
    bson::Builder b;
    b.AppendValue("_id", g.value);
    for (size_t k = 0; k < def_->accs.size(); ++k) g.states[k]->Finish(b, def_->accs[k].field);
    g.states.clear();
    g.key = bson::Document();
    g.value = bson::Value();
    return std::move(b).Finish();
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Group {
    bson::Document key;  // {"": the first key value seen}
    bson::Value value;   // its value (the deque keeps `key`'s bytes in place)
    uint64_t hash = 0;
    std::vector<std::unique_ptr<AccState>> states;
  };
  struct Slot {
    uint64_t hash = 0;
    uint32_t group = kEmpty;
  };

  size_t Overhead(const Group& g) const {
    return g.key.bytes().size() * 2 + 64 + 48 * def_->accs.size();
  }
  // The slot holding `key`, or the empty slot where it would go. REQUIRES: slots_ non-empty,
  // or returns 0 with slots_ empty.
  size_t Find(const bson::Value& key, uint64_t h) const {
    if (slots_.empty()) return 0;
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.group == kEmpty) return i;
      if (s.hash == h && KeyEquals(groups_[s.group].value, key)) return i;
    }
  }
  // Appends a group for `key` (not present) and indexes it.
  Group& NewGroup(const bson::Value& key, uint64_t h) {
    if ((groups_.size() + 1) * 2 > slots_.size()) Grow();
    Group& g = groups_.emplace_back();
    g.key = Holder(key);
    g.value = g.key.view().begin()->value;
    g.hash = h;
    size_t slot = Find(g.value, h);
    slots_[slot] = Slot{h, static_cast<uint32_t>(groups_.size() - 1)};
    return g;
  }
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, old.size() * 2), Slot());
    size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.group == kEmpty) continue;
      size_t i = s.hash & mask;
      while (slots_[i].group != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  static const bson::Value& NullValue() {
    static const bson::Document kNull = [] {
      bson::Builder b;
      b.AppendNull("");
      return std::move(b).Finish();
    }();
    static const bson::Value v = kNull.view().begin()->value;
    return v;
  }
  static const ExprValue& One() {
    static const bson::Document kOne = [] {
      bson::Builder b;
      b.AppendInt32("", 1);
      return std::move(b).Finish();
    }();
    static const ExprValue v = ExprValue::Borrow(kOne.view().begin()->value);
    return v;
  }

  const GroupDef* def_;
  std::deque<Group> groups_;  // stable addresses: Group::value points into Group::key
  std::vector<Slot> slots_;   // power-of-two size, at most half full
  size_t fixed_ = 0, variable_ = 0;
  std::string scratch_;  // key encodings of composite keys
};

Status GroupMemoryError() {
  return Status(ErrorCode::kQueryExceededMemoryLimit,
                "Exceeded memory limit for $group, but didn't allow external sort. Pass "
                "allowDiskUse:true to opt in.");
}

class GroupStage final : public MaterializingStage {
 public:
  GroupStage(std::unique_ptr<Stage> in, const GroupDef* def, size_t mem)
      : in_(std::move(in)), mem_(mem), table_(def) {}

 private:
  Status Load() override {
    auto take = [this](Row& r) -> Result<size_t> {
      AMALGAM_RETURN_IF_ERROR(table_.Add(r.doc.view()));
      return table_.bytes();
    };
    return DrainInput(*in_, mem_, take, GroupMemoryError);
  }
  bool EmitNext(Row* row) override {
    if (pos_ >= table_.size()) return false;
    row->doc = table_.Emit(pos_++);
    return true;
  }

  std::unique_ptr<Stage> in_;
  size_t mem_;
  GroupTable table_;
  size_t pos_ = 0;
};

// ---- $group over a collection scan (Pipeline::BuildOverScan) ----------------------------------

// Helper threads in use by parallel scans, process-wide, against a budget of cores - 1.
std::atomic<int> g_scan_helpers{0};

int HelperBudget() {
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 1 ? static_cast<int>(hw) - 1 : 0;
}

// Takes up to `want` helper threads from the budget; returns how many it got.
int AcquireHelpers(int want) {
  int budget = HelperBudget();
  int cur = g_scan_helpers.load(std::memory_order_relaxed);
  while (true) {
    int got = std::min(want, budget - cur);
    if (got <= 0) return 0;
    if (g_scan_helpers.compare_exchange_weak(cur, cur + got, std::memory_order_acq_rel)) return got;
  }
}

// Parallel scans split the collection into this many _id ranges per thread, handed out in
// order as threads become free (so a poor size estimate costs little balance), each of at
// least kMinRangeBytes by storage's estimate (smaller collections are read serially).
constexpr size_t kRangesPerThread = 16;
constexpr uint64_t kMinRangeBytes = 256u << 10;

class ScanGroupStage final : public MaterializingStage {
 public:
  ScanGroupStage(ScanInput scan, const GroupDef* def, size_t mem)
      : scan_(std::move(scan)), def_(def), mem_(mem), table_(def) {}

 private:
  bool EmitNext(Row* row) override {
    if (pos_ >= table_.size()) return false;
    row->doc = table_.Emit(pos_++);
    return true;
  }

  // State shared by the threads of one parallel run.
  struct Shared {
    std::atomic<bool> stop{false};
    std::atomic<size_t> next{0};   // the next range to read
    std::atomic<size_t> bytes{0};  // memory held by all tables, as published
    std::mutex mu;                 // guards the rest
    std::vector<std::optional<GroupTable>> done;  // read, not merged yet
    size_t merged = 0;                            // ranges [0, merged) are in the result
    bool inexact = false;
    Status error;  // the first error (kMaxTimeMSExpired is returned, others rerun serially)
  };

  // Reads one cursor into `table`. With `shared`, publishes memory across threads every 256
  // documents (`published`: what this table has added so far) and stops when told. Errors: the
  // matcher's and accumulators', kMaxTimeMSExpired, kQueryExceededMemoryLimit, the cursor's;
  // kOperationFailed when another thread failed.
  Status ReadRange(engine::DocumentCursor& cursor, GroupTable& table, ExecStats& stats,
                   Shared* shared, size_t* published) const {
    bson::DocView doc;
    uint32_t n = 0;
    while (cursor.Next(&doc)) {
      AMALGAM_RETURN_IF_ERROR(stats.Examine(&stats.docs_examined));
      if (scan_.matcher) {
        AMALGAM_ASSIGN_OR_RETURN(bool match, scan_.matcher->Evaluate(doc));
        if (!match) continue;
      }
      AMALGAM_RETURN_IF_ERROR(table.Add(doc));
      size_t bytes = table.bytes();
      if (shared == nullptr) {
        if (bytes > mem_) return GroupMemoryError();
        continue;
      }
      if ((++n & 255) == 0 || bytes > mem_) {
        AMALGAM_RETURN_IF_ERROR(Publish(shared, bytes, published));
      }
    }
    AMALGAM_RETURN_IF_ERROR(cursor.status());
    if (shared != nullptr) AMALGAM_RETURN_IF_ERROR(Publish(shared, table.bytes(), published));
    return Status::OK();
  }

  Status Publish(Shared* shared, size_t bytes, size_t* published) const {
    if (shared->stop.load(std::memory_order_relaxed)) {
      return Status(ErrorCode::kOperationFailed, "stopped: another part of the scan failed");
    }
    size_t total = shared->bytes.fetch_add(bytes - *published, std::memory_order_relaxed) + (bytes - *published);
    *published = bytes;
    if (total > mem_) return GroupMemoryError();
    return Status::OK();
  }

  Status Load() override {
    ExecStats& stats = *scan_.stats;
    size_t want = scan_.max_parts;
    if (want == 0) want = std::min<size_t>(4, std::max(1u, std::thread::hardware_concurrency()));
    bool mergeable = true;
    for (const AccDef& a : def_->accs) mergeable = mergeable && a.Mergeable();
    int helpers = mergeable && want > 1 ? AcquireHelpers(static_cast<int>(want) - 1) : 0;
    if (helpers > 0) {
      std::vector<std::string> splits = scan_.view->SplitIds(
          *scan_.coll, (static_cast<size_t>(helpers) + 1) * kRangesPerThread, kMinRangeBytes);
      Result<bool> parallel = splits.empty() ? Result<bool>(false) : LoadParallel(splits, helpers);
      g_scan_helpers.fetch_sub(helpers, std::memory_order_acq_rel);
      if (!parallel.ok()) return parallel.status();
      if (parallel.value()) return Status::OK();
      table_ = GroupTable(def_);  // inexact or failed: the serial run decides
    }
    ExecStats local;
    local.deadline = stats.deadline;
    std::unique_ptr<engine::DocumentCursor> cursor = scan_.view->Scan(*scan_.coll);
    Status s = ReadRange(*cursor, table_, local, nullptr, nullptr);
    stats.docs_examined += local.docs_examined;
    return s;
  }

  // Groups the ranges split at `splits` on this thread and `helpers` more, each range into a
  // table of its own, merged into table_ in _id order as soon as every range before it is.
  // Returns false when the serial run must decide (a range failed, a merge would be inexact,
  // memory ran out); errors only for kMaxTimeMSExpired, which the serial run would hit too.
  Result<bool> LoadParallel(const std::vector<std::string>& splits, int helpers) {
    ExecStats& stats = *scan_.stats;
    // Cursors are made here, on the calling thread (the ReadView is not thread-safe); each is
    // then read by one thread.
    std::vector<std::unique_ptr<engine::DocumentCursor>> cursors;
    for (size_t i = 0; i <= splits.size(); ++i) {
      cursors.push_back(scan_.view->ScanRange(*scan_.coll, i == 0 ? std::string_view() : splits[i - 1],
                                              i == splits.size() ? std::string_view() : splits[i]));
    }
    Shared shared;
    shared.done.resize(cursors.size());
    std::vector<ExecStats> thread_stats(static_cast<size_t>(helpers) + 1);
    for (ExecStats& st : thread_stats) st.deadline = stats.deadline;
    auto fail = [&shared](Status s) {
      std::lock_guard<std::mutex> lock(shared.mu);
      if (shared.error.ok() || shared.error.code() == ErrorCode::kOperationFailed) shared.error = std::move(s);
      shared.stop.store(true, std::memory_order_relaxed);
    };
    auto run = [&](ExecStats* st) {
      while (!shared.stop.load(std::memory_order_relaxed)) {
        size_t r = shared.next.fetch_add(1, std::memory_order_relaxed);
        if (r >= cursors.size()) return;
        GroupTable t(def_);
        size_t published = 0;
        Status s = ReadRange(*cursors[r], t, *st, &shared, &published);
        if (!s.ok()) return fail(std::move(s));
        std::lock_guard<std::mutex> lock(shared.mu);
        shared.done[r].emplace(std::move(t));
        while (shared.merged < shared.done.size() && shared.done[shared.merged]) {
          GroupTable& next = *shared.done[shared.merged];
          size_t before = table_.bytes(), added = next.bytes();
          bool exact = true;
          if (shared.merged == 0) {
            table_ = std::move(next);
          } else {
            exact = table_.MergeLater(std::move(next));
          }
          shared.done[shared.merged].reset();
          ++shared.merged;
          if (!exact) {
            shared.inexact = true;
            shared.stop.store(true, std::memory_order_relaxed);
            return;
          }
          // The range's table (published as `added`) is now inside the result: count the
          // result's change instead (modular arithmetic; the total never goes below zero).
          shared.bytes.fetch_add(table_.bytes() - before, std::memory_order_relaxed);
          shared.bytes.fetch_sub(added, std::memory_order_relaxed);
        }
      }
    };
    std::vector<std::thread> threads;
    for (int i = 1; i <= helpers; ++i) {
      try {
        threads.emplace_back(run, &thread_stats[static_cast<size_t>(i)]);
      } catch (const std::system_error&) {
        break;  // no thread to be had: the others read its ranges
      }
    }
    run(&thread_stats[0]);
    for (std::thread& t : threads) t.join();
    for (const ExecStats& st : thread_stats) stats.docs_examined += st.docs_examined;
    if (shared.error.code() == ErrorCode::kMaxTimeMSExpired) return shared.error;
    if (!shared.error.ok() || shared.inexact || shared.merged != cursors.size()) return false;
    if (table_.bytes() > mem_) return false;
    return true;
  }

  ScanInput scan_;
  const GroupDef* def_;
  size_t mem_;
  GroupTable table_;
  size_t pos_ = 0;
};

class GroupSpec final : public StageSpec {
 public:
  explicit GroupSpec(GroupDef def) : def_(std::move(def)) {}
  std::string_view name() const override { return "$group"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv& env) const override {
    return std::make_unique<GroupStage>(std::move(in), &def_, env.limit());
  }
  std::unique_ptr<Stage> MakeOverScan(ScanInput scan, const ExecEnv& env) const {
    return std::make_unique<ScanGroupStage>(std::move(scan), &def_, env.limit());
  }

 private:
  GroupDef def_;
};

}  // namespace

bool AsGroup(const StageSpec& spec) { return dynamic_cast<const GroupSpec*>(&spec) != nullptr; }

std::unique_ptr<Stage> MakeScanGroupStage(const StageSpec& group, ScanInput scan, const ExecEnv& env) {
  return static_cast<const GroupSpec&>(group).MakeOverScan(std::move(scan), env);
}

Status ParseGroup(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return MongoCodedError(15947, "a group's fields must be specified in an object");
  }
  ExprParseContext pctx;
  pctx.variables = env.variables;
  GroupDef def;
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name == "_id") {
      if (def.id) return MongoCodedError(15948, "a group's _id may only be specified once");
      AMALGAM_ASSIGN_OR_RETURN(def.id, Expression::Parse(e.value, pctx));
      continue;
    }
    AccDef a;
    AMALGAM_RETURN_IF_ERROR(ParseAccumulator(e, pctx, &a));
    def.accs.push_back(std::move(a));
  }
  if (!def.id) return MongoCodedError(15955, "a group specification must include an _id");
  out->push_back(std::make_shared<GroupSpec>(std::move(def)));
  return Status::OK();
}

Status ParseSortByCount(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() == BsonType::kDocument) {
    if (arg.AsDocument().empty() || !arg.AsDocument().begin()->name.starts_with("$")) {
      return MongoCodedError(40147,
                             "the sortByCount field must be defined as a $-prefixed path or an "
                             "expression inside an object");
    }
  } else if (arg.type() == BsonType::kString) {
    if (!arg.AsString().starts_with("$")) {
      return MongoCodedError(40148,
                             "the sortByCount field must be defined as a $-prefixed path or an "
                             "expression inside an object");
    }
  } else {
    return MongoCodedError(40149,
                           "the sortByCount field must be specified as a string or as an object");
  }
  ExprParseContext pctx;
  pctx.variables = env.variables;
  GroupDef def;
  AMALGAM_ASSIGN_OR_RETURN(def.id, Expression::Parse(arg, pctx));
  AccDef count;
  count.field = "count";
  count.kind = AccKind::kCount;
  def.accs.push_back(std::move(count));
  out->push_back(std::make_shared<GroupSpec>(std::move(def)));
  static const bson::Document kSort = [] {
    bson::Builder b;
    b.AppendInt32("count", -1);
    return std::move(b).Finish();
  }();
  bson::Builder holder;
  holder.AppendDocument("s", kSort.view());
  static const bson::Document kHolder = std::move(holder).Finish();
  return ParseSort(kHolder.view().Get("s"), env, out);
}

}  // namespace amalgam::query::pipeline_internal
