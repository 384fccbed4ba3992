// VectorIndexes::Search: graph (or in-memory exact) search merged with an exact pass over the
// documents changed since the index's applied sequence, so results are fresh
// (docs/vector-search.md, "Freshness").
#include <algorithm>
#include <unordered_set>

#include "engine/engine.h"
#include "engine/vector_indexes.h"
#include "engine/vector_live.h"
#include "index/index_entry.h"
#include "storage/change_record.h"
#include "storage/key_codec.h"

namespace amalgam::engine {
namespace {

// Accepts labels whose filter-field values match the query's filter. Runs under the index's
// labels_mu (shared), held by the caller.
class LabelFilter final : public index::LabelPredicate {
 public:
  LabelFilter(const LiveVectorIndex& ix, const VectorDocFilter& f) : ix_(ix), f_(f) {}
  bool Accepts(uint64_t label) const override {
    auto it = ix_.entries.find(label);
    return it != ix_.entries.end() && f_.Matches(it->second.filter.view());
  }
  // The fraction of a sample of labelled documents that match.
  double EstimateSelectivity(size_t sample) const {
    size_t seen = 0, hits = 0;
    for (const auto& [label, e] : ix_.entries) {
      if (seen++ == sample) break;
      if (f_.Matches(e.filter.view())) ++hits;
    }
    return seen ? static_cast<double>(hits) / static_cast<double>(std::min(seen, sample)) : 0;
  }

 private:
  const LiveVectorIndex& ix_;
  const VectorDocFilter& f_;
};

// With an equality hint on a filter field, the labels that can match it (the smallest such set),
// from the postings; false when there is no usable hint or it would allow most labels anyway.
// REQUIRES: ix.labels_mu held (shared).
bool AllowListFromPostings(const LiveVectorIndex& ix, const VectorDocFilter& filter, std::vector<uint64_t>* out) {
  const VectorDocFilter::EqualityHint* best = nullptr;
  size_t best_count = ix.entries.size() / 2;
  std::vector<VectorDocFilter::EqualityHint> hints = filter.EqualityHints();
  for (const VectorDocFilter::EqualityHint& h : hints) {
    if (!ix.def.IsFilterPath(h.path)) continue;
    size_t n = 0;
    auto un = ix.unindexed.find(h.path);
    if (un != ix.unindexed.end()) n += un->second.size();
    for (const bson::Value& v : h.values) {
      auto it = ix.postings.find(PostingKey(h.path, v));
      if (it != ix.postings.end()) n += it->second.size();
    }
    if (n <= best_count) {
      best = &h;
      best_count = n;
    }
  }
  if (!best) return false;
  out->clear();
  out->reserve(best_count);
  auto un = ix.unindexed.find(best->path);
  if (un != ix.unindexed.end()) out->insert(out->end(), un->second.begin(), un->second.end());
  for (const bson::Value& v : best->values) {
    auto it = ix.postings.find(PostingKey(best->path, v));
    if (it != ix.postings.end()) out->insert(out->end(), it->second.begin(), it->second.end());
  }
  return true;
}

struct Scored {
  double score;
  std::string id;
  bson::Document doc;
};

// The exact score of a stored document, or false when it has no usable vector or fails the
// filter.
bool ScoreDocument(const VectorFieldDef& f, const VectorQuery& q, bson::DocView doc, double* score) {
  std::optional<std::vector<float>> v = ExtractVector(doc, f.path, f.dims, f.metric);
  if (!v) return false;
  if (q.filter && !q.filter->Matches(doc)) return false;
  *score = ExactVectorScore(f.metric, q.vector, *v);
  return true;
}

// A document as stored: validated when it was written, so read like every other engine read
// (ReadView::GetByEncodedId) without validating it again; RocksDB checksums its blocks.
bson::Document StoredDocument(std::string bytes) { return bson::Document::FromValidatedBytes(std::move(bytes)); }

void SortAndTrim(std::vector<Scored>* out, size_t limit) {
  std::stable_sort(out->begin(), out->end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
  if (out->size() > limit) out->resize(limit);
}

}  // namespace

Result<std::vector<VectorMatch>> VectorIndexes::Search(std::string_view db, std::string_view coll,
                                                       const VectorQuery& q, VectorSearchStats* stats) {
  VectorSearchStats local;
  if (!stats) stats = &local;
  std::vector<VectorMatch> result;
  catalog::CollectionPtr info = engine_.catalog().Find(db, coll);
  if (!info) return result;
  LivePtr ix;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ix = FindLive(info->id, q.index);
  }
  if (!ix) return result;  // Atlas: an unknown index name returns no results
  stats->index_found = true;
  size_t field = ix->def.vectors.size();
  for (size_t i = 0; i < ix->def.vectors.size(); ++i) {
    if (ix->def.vectors[i].path == q.path) field = i;
  }
  if (field == ix->def.vectors.size()) {
    return Status(ErrorCode::kBadValue, "Path '" + q.path + "' needs to be indexed as vector in index '" +
                                            ix->def.name + "'");
  }
  const VectorFieldDef& f = ix->def.vectors[field];
  if (q.vector.size() != f.dims) {
    return Status(ErrorCode::kBadValue, "vector field '" + f.path + "' is indexed with " + std::to_string(f.dims) +
                                            " dimensions but queryVector has " + std::to_string(q.vector.size()));
  }
  if (q.limit == 0) return result;

  // The applied sequence first, then the snapshot: every change after `applied` that the
  // snapshot holds is in its change log.
  uint64_t applied = ix->applied_seq.load();
  bool ready = ix->status.load() == VectorIndexStatus::kReady;
  auto snapshot = store_.GetSnapshot();
  std::vector<Scored> out;
  std::string prefix = index::DocumentKey(ix->cid, "");

  std::unordered_set<std::string> pending;
  bool exact_scan = !ready || applied < store_.ChangeLogTrimmedThrough();
  if (!exact_scan) {
    std::string lo;
    storage::AppendUint64BE(&lo, applied + 1);
    auto it = store_.NewIterator(storage::Cf::kChangeLog, lo, "", snapshot.get());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      AMALGAM_ASSIGN_OR_RETURN(storage::ChangeEntry e,
                               storage::DecodeChangeEntry(storage::ReadUint64BE(it->key()), it->value()));
      const storage::ChangeRecord& r = e.record;
      if (r.collection_id != ix->cid) continue;
      ++stats->pending_changes;
      if (r.op == storage::ChangeOp::kCommand) {
        if (r.command && !r.command->view().Get("drop").missing()) return result;  // dropped meanwhile
        continue;
      }
      const std::optional<bson::Document>& key = r.document_key ? r.document_key : r.post_image;
      if (key) pending.insert(storage::EncodeValue(key->view().Get("_id")).key);
      if (pending.size() > options_.max_merged_pending) {
        exact_scan = true;
        break;
      }
    }
    AMALGAM_RETURN_IF_ERROR(it->status());
  }

  if (exact_scan) {
    // Building, or too far behind: score every document of the snapshot.
    stats->exact_scan = true;
    auto it = store_.NewIterator(storage::Cf::kDocuments, prefix, storage::PrefixSuccessor(prefix), snapshot.get());
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      bson::Document doc = StoredDocument(std::string(it->value()));
      double score;
      if (!ScoreDocument(f, q, doc.view(), &score)) continue;
      out.push_back(Scored{score, "", std::move(doc)});
      if (out.size() >= 4 * q.limit + 64) SortAndTrim(&out, q.limit);
    }
    AMALGAM_RETURN_IF_ERROR(it->status());
    SortAndTrim(&out, q.limit);
  } else {
    // Graph hits not changed since `applied` (not pending), with their vectors as the graph
    // holds them (full precision only: a quantized graph reads them from the documents).
    struct Candidate {
      std::string id;
      std::vector<float> vector;  // empty: score from the document
    };
    std::vector<Candidate> candidates;
    index::HnswIndex& graph = *ix->graphs[field];
    const bool graph_vectors = graph.options().quantization == index::VectorQuantization::kNone;
    {
      std::shared_lock<std::shared_mutex> lock(ix->labels_mu);
      std::optional<LabelFilter> pred;
      index::VectorFilter vf;
      index::SearchOptions so;
      so.k = q.limit + pending.size();
      so.ef = std::max(q.num_candidates, so.k);
      so.exact = q.exact;
      // A quantized graph re-scores (and ENN reads) full precision from the documents.
      DocumentVectorSource source(store_, snapshot.get(), *ix, f);
      so.source = &source;
      std::vector<uint64_t> allow;
      if (q.filter) {
        pred.emplace(*ix, *q.filter);
        if (AllowListFromPostings(*ix, *q.filter, &allow)) {
          vf = index::VectorFilter::AllowList(allow);
          vf.predicate = &*pred;
        } else {
          vf = index::VectorFilter::Predicate(&*pred, pred->EstimateSelectivity(512));
        }
        so.filter = &vf;
      }
      std::vector<index::VectorHit> hits;
      index::SearchInfo si;
      AMALGAM_RETURN_IF_ERROR(graph.Search(q.vector.data(), so, &hits, &si));
      stats->plan = si.plan;
      stats->graph_hits = hits.size();
      candidates.reserve(hits.size() + pending.size());
      for (const index::VectorHit& h : hits) {
        auto e = ix->entries.find(h.label);
        if (e == ix->entries.end() || pending.count(e->second.id)) continue;
        Candidate c{e->second.id, {}};
        if (graph_vectors) {
          c.vector.resize(f.dims);
          if (!graph.GetVector(h.label, c.vector.data())) c.vector.clear();
        }
        candidates.push_back(std::move(c));
      }
    }
    // The graph may already hold changes committed after the snapshot (the maintenance thread
    // applies them while we search): then its vectors and filter values are not the snapshot's,
    // and every candidate is scored from its document as read at the snapshot. The graph only
    // applies changes up to the store's visibility watermark, so if the watermark, read after
    // the search, is still the snapshot's, every change in the graph is in the snapshot, and a
    // hit not pending (no change in (applied, snapshot]) is in the snapshot exactly as the graph
    // holds it (and passed the filter on the same values).
    const bool graph_current = store_.LastVisibleSeq() <= snapshot->visible_seq();
    for (const std::string& id : pending) candidates.push_back(Candidate{id, {}});
    // Every candidate's document is read at the snapshot (the rows returned are the stored
    // documents); scored exactly from it unless the graph's copy of the vector is current. One
    // batched read for all of them.
    std::vector<std::string> keys;
    keys.reserve(candidates.size());
    for (const Candidate& c : candidates) keys.push_back(prefix + c.id);
    AMALGAM_ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> docs,
                             store_.MultiGet(storage::Cf::kDocuments, keys, snapshot.get()));
    for (size_t i = 0; i < candidates.size(); ++i) {
      Candidate& c = candidates[i];
      std::optional<std::string>& bytes = docs[i];
      if (!bytes) continue;
      bson::Document doc = StoredDocument(std::move(*bytes));
      double score;
      if (graph_current && !c.vector.empty()) {
        score = ExactVectorScore(f.metric, q.vector, c.vector);
      } else if (!ScoreDocument(f, q, doc.view(), &score)) {
        continue;
      }
      out.push_back(Scored{score, std::move(c.id), std::move(doc)});
    }
    SortAndTrim(&out, q.limit);
  }
  result.reserve(out.size());
  for (Scored& s : out) result.push_back(VectorMatch{std::move(s.doc), s.score});
  return result;
}

}  // namespace amalgam::engine
