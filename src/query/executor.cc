#include "query/executor.h"

#include <algorithm>
#include <unordered_set>

namespace amalgam::query {

Status ExecStats::Examine(int64_t* counter) {
  ++*counter;
  if ((keys_examined + docs_examined) % 128 == 0 && deadline != std::chrono::steady_clock::time_point::max() &&
      std::chrono::steady_clock::now() > deadline) {
    return Status(ErrorCode::kMaxTimeMSExpired, "operation exceeded time limit");
  }
  return Status::OK();
}

namespace {

// Fetches by encoded _id from whichever source is set.
Result<std::optional<bson::Document>> Fetch(ReadSource src, const engine::CollectionHandle& coll, std::string_view id) {
  if (src.txn) return src.txn->GetByEncodedId(coll, id, false);
  return src.view->GetByEncodedId(coll, id);
}

class FilteringStage : public Stage {
 public:
  FilteringStage(std::shared_ptr<const Matcher> matcher, ExecStats* stats) : matcher_(std::move(matcher)), stats_(stats) {}

 protected:
  // True when `row` passes the filter (details recorded).
  Result<bool> Accept(Row* row) {
    AMALGAM_RETURN_IF_ERROR(stats_->Examine(&stats_->docs_examined));
    if (!matcher_) return true;
    row->details = MatchDetails();
    return matcher_->Evaluate(row->doc.view(), &row->details);
  }
  std::shared_ptr<const Matcher> matcher_;
  ExecStats* stats_;
};

class CollScanStage : public FilteringStage {
 public:
  CollScanStage(ReadSource src, engine::HandlePtr coll, bool forward, std::shared_ptr<const Matcher> m, ExecStats* stats)
      : FilteringStage(std::move(m), stats), coll_(std::move(coll)) {
    cursor_ = src.txn ? src.txn->Scan(*coll_, forward) : src.view->Scan(*coll_, forward);
  }
  Result<bool> Next(Row* row) override {
    bson::DocView doc;
    while (cursor_->Next(&doc)) {
      row->doc = bson::Document(doc);
      row->encoded_id = std::string(cursor_->encoded_id());
      AMALGAM_ASSIGN_OR_RETURN(bool ok, Accept(row));
      if (ok) return true;
    }
    AMALGAM_RETURN_IF_ERROR(cursor_->status());
    return false;
  }

 private:
  engine::HandlePtr coll_;
  std::unique_ptr<engine::DocumentCursor> cursor_;
};

class IdLookupStage : public FilteringStage {
 public:
  IdLookupStage(ReadSource src, engine::HandlePtr coll, std::vector<std::string> ids, std::shared_ptr<const Matcher> m,
                ExecStats* stats)
      : FilteringStage(std::move(m), stats), src_(src), coll_(std::move(coll)), ids_(std::move(ids)) {}
  Result<bool> Next(Row* row) override {
    while (pos_ < ids_.size()) {
      const std::string& id = ids_[pos_++];
      AMALGAM_RETURN_IF_ERROR(stats_->Examine(&stats_->keys_examined));
      AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, Fetch(src_, *coll_, id));
      if (!doc) continue;
      row->doc = std::move(*doc);
      row->encoded_id = id;
      AMALGAM_ASSIGN_OR_RETURN(bool ok, Accept(row));
      if (ok) return true;
    }
    return false;
  }

 private:
  ReadSource src_;
  engine::HandlePtr coll_;
  std::vector<std::string> ids_;
  size_t pos_ = 0;
};

class IndexScanStage : public FilteringStage {
 public:
  IndexScanStage(ReadSource src, engine::HandlePtr coll, const Plan& plan, std::shared_ptr<const Matcher> m, ExecStats* stats)
      : FilteringStage(std::move(m), stats), src_(src), coll_(std::move(coll)), spec_(coll_->indexes[plan.index_pos].spec()),
        ranges_(plan.ranges), forward_(plan.forward), dedup_(plan.dedup) {
    if (!forward_) std::reverse(ranges_.begin(), ranges_.end());
  }
  Result<bool> Next(Row* row) override {
    while (true) {
      if (!cursor_) {
        if (range_ >= ranges_.size()) return false;
        const KeyRange& r = ranges_[range_++];
        cursor_ = src_.txn ? src_.txn->ScanIndex(spec_, r.lower, r.upper, forward_)
                           : src_.view->ScanIndex(spec_, r.lower, r.upper, forward_);
      }
      engine::IndexCursorEntry entry;
      if (!cursor_->Next(&entry)) {
        AMALGAM_RETURN_IF_ERROR(cursor_->status());
        cursor_.reset();
        continue;
      }
      AMALGAM_RETURN_IF_ERROR(stats_->Examine(&stats_->keys_examined));
      std::string id(entry.encoded_id);
      if (dedup_ && !seen_.insert(id).second) continue;
      AMALGAM_ASSIGN_OR_RETURN(std::optional<bson::Document> doc, Fetch(src_, *coll_, id));
      if (!doc) continue;  // deleted by this transaction
      row->doc = std::move(*doc);
      row->encoded_id = std::move(id);
      AMALGAM_ASSIGN_OR_RETURN(bool ok, Accept(row));
      if (ok) return true;
    }
  }

 private:
  ReadSource src_;
  engine::HandlePtr coll_;
  const catalog::IndexSpec& spec_;
  std::vector<KeyRange> ranges_;
  bool forward_;
  bool dedup_;
  size_t range_ = 0;
  std::unique_ptr<engine::IndexCursor> cursor_;
  std::unordered_set<std::string> seen_;
};

class SortStage : public Stage {
 public:
  SortStage(std::unique_ptr<Stage> input, DocComparator compare, int64_t limit, size_t memory_limit)
      : input_(std::move(input)), compare_(std::move(compare)), limit_(limit), memory_limit_(memory_limit) {}
  Result<bool> Next(Row* row) override {
    if (!loaded_) {
      AMALGAM_RETURN_IF_ERROR(Load());
      loaded_ = true;
    }
    if (pos_ >= rows_.size()) return false;
    *row = std::move(rows_[pos_++]);
    return true;
  }

 private:
  Status Load() {
    auto less = [this](const Row& a, const Row& b) { return compare_(a.doc.view(), b.doc.view()) < 0; };
    size_t bytes = 0;
    Row row;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, input_->Next(&row));
      if (!more) break;
      bytes += row.doc.bytes().size() + sizeof(Row);
      rows_.push_back(std::move(row));
      if (limit_ > 0 && rows_.size() > static_cast<size_t>(limit_) * 2 + 64) {
        // Top-k: keep the best `limit` so far (stable).
        std::stable_sort(rows_.begin(), rows_.end(), less);
        rows_.resize(static_cast<size_t>(limit_));
        bytes = 0;
        for (const Row& r : rows_) bytes += r.doc.bytes().size() + sizeof(Row);
      }
      if (bytes > memory_limit_) {
        return Status(ErrorCode::kExceededMemoryLimit,
                      "Executor error during find command :: caused by :: Sort exceeded memory limit of " +
                          std::to_string(memory_limit_) + " bytes, but did not opt in to external sorting.");
      }
    }
    std::stable_sort(rows_.begin(), rows_.end(), less);
    if (limit_ > 0 && rows_.size() > static_cast<size_t>(limit_)) rows_.resize(static_cast<size_t>(limit_));
    return Status::OK();
  }

  std::unique_ptr<Stage> input_;
  DocComparator compare_;
  int64_t limit_;
  size_t memory_limit_;
  bool loaded_ = false;
  std::vector<Row> rows_;
  size_t pos_ = 0;
};

class SkipLimitStage : public Stage {
 public:
  SkipLimitStage(std::unique_ptr<Stage> input, int64_t skip, int64_t limit)
      : input_(std::move(input)), skip_(skip), limit_(limit) {}
  Result<bool> Next(Row* row) override {
    while (skipped_ < skip_) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, input_->Next(row));
      if (!more) return false;
      ++skipped_;
    }
    if (limit_ > 0 && returned_ >= limit_) return false;
    AMALGAM_ASSIGN_OR_RETURN(bool more, input_->Next(row));
    if (more) ++returned_;
    return more;
  }

 private:
  std::unique_ptr<Stage> input_;
  int64_t skip_, limit_;
  int64_t skipped_ = 0, returned_ = 0;
};

class StageSource : public engine::DocumentSource {
 public:
  StageSource(std::unique_ptr<engine::ReadView> view, std::unique_ptr<Stage> stage, Projector projector,
              std::shared_ptr<ExecStats> stats)
      : view_(std::move(view)), stage_(std::move(stage)), projector_(std::move(projector)), stats_(std::move(stats)) {}
  void SetDeadline(std::chrono::steady_clock::time_point deadline) override {
    if (stats_) stats_->deadline = deadline;
  }
  Result<bool> Next(bson::Document* out) override {
    Row row;
    AMALGAM_ASSIGN_OR_RETURN(bool more, stage_->Next(&row));
    if (!more) return false;
    if (stats_) stats_->returned++;
    if (projector_) {
      AMALGAM_ASSIGN_OR_RETURN(*out, projector_(row.doc.view(), row.details));
    } else {
      *out = std::move(row.doc);
    }
    return true;
  }

 private:
  std::unique_ptr<engine::ReadView> view_;  // declared first: destroyed after the stages
  std::unique_ptr<Stage> stage_;
  Projector projector_;
  std::shared_ptr<ExecStats> stats_;
};

}  // namespace

std::unique_ptr<Stage> MakeAccessStage(ReadSource source, engine::HandlePtr coll, const Plan& plan,
                                       std::shared_ptr<const Matcher> matcher, ExecStats* stats) {
  switch (plan.kind) {
    case Plan::Kind::kIdLookup:
      return std::make_unique<IdLookupStage>(source, std::move(coll), plan.ids, std::move(matcher), stats);
    case Plan::Kind::kIndexScan:
      return std::make_unique<IndexScanStage>(source, std::move(coll), plan, std::move(matcher), stats);
    case Plan::Kind::kCollScan: break;
  }
  return std::make_unique<CollScanStage>(source, std::move(coll), plan.forward, std::move(matcher), stats);
}

std::unique_ptr<Stage> MakeSortStage(std::unique_ptr<Stage> input, DocComparator compare, int64_t limit,
                                     size_t memory_limit_bytes) {
  return std::make_unique<SortStage>(std::move(input), std::move(compare), limit, memory_limit_bytes);
}

std::unique_ptr<Stage> MakeSkipLimitStage(std::unique_ptr<Stage> input, int64_t skip, int64_t limit) {
  return std::make_unique<SkipLimitStage>(std::move(input), skip, limit);
}

std::unique_ptr<engine::DocumentSource> MakeDocumentSource(std::unique_ptr<engine::ReadView> view,
                                                           std::unique_ptr<Stage> stage, Projector projector,
                                                           std::shared_ptr<ExecStats> stats) {
  return std::make_unique<StageSource>(std::move(view), std::move(stage), std::move(projector), std::move(stats));
}

}  // namespace amalgam::query
