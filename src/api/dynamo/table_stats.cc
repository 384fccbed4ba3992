#include "api/dynamo/table_stats.h"

#include <algorithm>
#include <chrono>

#include "api/dynamo/model/bson_mapping.h"
#include "common/logging.h"

namespace amalgam::api::dynamo {

TableStats::~TableStats() { Stop(); }

void TableStats::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Result<TableFigures> TableStats::Count(const Job& job, int64_t limit, bool* complete) {
  const TableMeta& meta = *job.meta;
  TableFigures f;
  for (const SecondaryIndex& index : meta.indexes) f.indexes[index.name];
  std::unique_ptr<engine::ReadView> view = engine_.Read();
  std::unique_ptr<engine::DocumentCursor> cursor = view->Scan(*job.handle);
  bson::DocView doc;
  *complete = false;
  int64_t seen = 0;
  while (true) {
    if (limit > 0 && seen >= limit) return f;
    if ((seen & 1023) == 1023) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return f;
    }
    if (!cursor->Next(&doc)) break;
    ++seen;
    model::Item item = model::ItemFromBson(meta.key, doc);
    ++f.items;
    f.bytes += static_cast<int64_t>(model::ItemSize(item));
    for (const SecondaryIndex& index : meta.indexes) {
      if (!item.count(index.key.hash_name)) continue;
      if (index.key.has_range() && !item.count(*index.key.range_name)) continue;
      TableFigures::Index& fi = f.indexes[index.name];
      ++fi.items;
      size_t size = 0;
      for (const auto& [name, value] : item) {
        bool projected =
            index.projection == "ALL" || meta.IsKeyAttribute(name) ||
            index.key.IsKeyAttribute(name) ||
            (index.projection == "INCLUDE" &&
             std::find(index.non_key.begin(), index.non_key.end(), name) != index.non_key.end());
        if (projected) size += name.size() + model::AttributeValueSize(value);
      }
      fi.bytes += static_cast<int64_t>(size);
    }
  }
  AMALGAM_RETURN_IF_ERROR(cursor->status());
  *complete = true;
  return f;
}

Result<TableFigures> TableStats::Get(const engine::HandlePtr& handle,
                                     const std::shared_ptr<const TableMeta>& meta) {
  const uint64_t id = handle->info->id;
  int64_t now = clock_.NowMillis();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      Entry& e = it->second;
      bool new_index = false;  // added by UpdateTable since the last count
      for (const SecondaryIndex& index : meta->indexes)
        new_index |= !e.figures.indexes.count(index.name);
      if (!e.scheduled &&
          (!e.complete || new_index || now - e.computed_millis >= e.refresh_millis)) {
        e.scheduled = true;
        ScheduleLocked(Job{handle, meta});
      }
      return e.figures;
    }
  }
  // First description of this table in this process: a bounded count on this thread.
  bool complete = false;
  AMALGAM_ASSIGN_OR_RETURN(TableFigures f, Count(Job{handle, meta}, kSyncItems, &complete));
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entries_[id];
  if (e.computed_millis == 0 || !e.complete) {
    e.figures = f;
    e.computed_millis = now;
    e.complete = complete;
  }
  if (!e.complete && !e.scheduled) {
    e.scheduled = true;
    ScheduleLocked(Job{handle, meta});
  }
  return e.figures;
}

void TableStats::Forget(uint64_t collection_id) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(collection_id);
}

void TableStats::ScheduleLocked(const Job& job) {
  if (stop_) return;
  queue_.push_back(job);
  if (!worker_.joinable()) worker_ = std::thread([this] { Run(); });
  cv_.notify_one();
}

void TableStats::Run() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const uint64_t id = job.handle->info->id;
    auto started = std::chrono::steady_clock::now();
    bool complete = false;
    Result<TableFigures> f = [&]() -> Result<TableFigures> {
      try {
        return Count(job, 0, &complete);
      } catch (const std::exception& e) {
        return InternalError(std::string("exception while counting a table: ") + e.what());
      }
    }();
    int64_t took = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    auto it = entries_.find(id);
    if (it == entries_.end()) continue;  // the table was deleted meanwhile
    Entry& e = it->second;
    e.scheduled = false;
    if (!f.ok()) {
      AMALGAM_LOG(kWarning, "dynamo")
          << "table statistics of collection " << id << " not refreshed: " << f.status().ToString();
      e.computed_millis = clock_.NowMillis();  // retry after the usual interval, not in a loop
      continue;
    }
    if (!complete) continue;
    e.figures = std::move(f).value();
    e.computed_millis = clock_.NowMillis();
    e.complete = true;
    e.refresh_millis = std::clamp<int64_t>(took * 1000, kMinRefreshMillis, kMaxRefreshMillis);
  }
}

}  // namespace amalgam::api::dynamo
