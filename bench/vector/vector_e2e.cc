// vector_e2e: `$vectorSearch` through the MongoDB wire protocol (libmongoc, one connection, one
// query at a time) against the same HNSW index searched in-process, on the same dataset, the
// same graph options and the same queries at the same numCandidates (= ef) and limit 10.
//
// It loads the dataset's base vectors into a running amalgamd (documents {_id: row, v: [...]}
// in vbench.vectors, dropped first), creates a vectorSearch index (maxEdges = --M,
// numEdgeCandidates = --efc), waits until $listSearchIndexes reports it READY, builds an
// index::HnswIndex with the same options in this process (the server gets an `fsync` before the
// queries: the bulk load leaves the memtables), and then, per round and per ef, runs
// every query in-process and through the server, side by side. Reported: recall@10 against the
// exact ground truth and queries per second (median over rounds) for both, the ratio, and the
// server's CPU time per query (from /proc/PID/stat when --pid is given). Each round also times
// `ping` round trips on the same connection: "ping bound" is the ratio a query would reach if it
// cost one ping plus the in-process search (no server work beyond the search).
//
// Usage: vector_e2e --mongo URI --data DIR/<dataset> [--pid SERVER_PID] [--nq 5000]
//          [--ef 40,80,160] [--rounds 3] [--M 16] [--efc 200] [--batch 1000] [--skip-load]
//          [--skip-local]
// (--skip-load: the index is already loaded and READY; --skip-local: no in-process side, for
// profiling the server)
// Run it with `scripts/bench.sh vector-e2e DATASET_DIR [flags]`, which starts amalgamd.

#include <bson/bson.h>
#include <mongoc/mongoc.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "index/vector/hnsw_index.h"

namespace {

using amalgam::index::HnswIndex;
using amalgam::index::HnswOptions;
using amalgam::index::SearchOptions;
using amalgam::index::VectorHit;
using amalgam::index::VectorMetric;
using Clock = std::chrono::steady_clock;

constexpr const char* kDb = "vbench";
constexpr const char* kColl = "vectors";
constexpr const char* kIndex = "vbench_idx";

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "vector_e2e: %s\n", msg.c_str());
  std::exit(1);
}

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

template <class T>
std::vector<T> ReadVecs(const std::string& path, size_t* dim, size_t max_rows = SIZE_MAX) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot open " + path);
  std::vector<T> out;
  int32_t d = 0;
  size_t rows = 0;
  while (rows < max_rows && in.read(reinterpret_cast<char*>(&d), 4)) {
    size_t old = out.size();
    out.resize(old + size_t(d));
    in.read(reinterpret_cast<char*>(out.data() + old), std::streamsize(size_t(d) * sizeof(T)));
    ++rows;
  }
  *dim = size_t(d);
  return out;
}

std::vector<size_t> ParseList(const std::string& s) {
  std::vector<size_t> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoul(item));
  return v;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// utime + stime of a process in seconds (0 when unknown).
double ProcessCpuSeconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream rest(s.substr(p + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

double RecallAt10(const std::vector<int64_t>& got, const std::vector<int32_t>& gt, size_t gt_dim, size_t nq) {
  size_t hit = 0;
  for (size_t i = 0; i < nq; ++i) {
    std::set<int64_t> want(gt.begin() + long(i * gt_dim), gt.begin() + long(i * gt_dim + 10));
    for (size_t j = 0; j < 10; ++j) hit += want.count(got[i * 10 + j]);
  }
  return double(hit) / double(nq * 10);
}

void AppendVector(bson_t* parent, const char* key, const float* v, size_t d) {
  bson_t arr;
  bson_append_array_begin(parent, key, -1, &arr);
  char buf[16];
  for (size_t j = 0; j < d; ++j) {
    const char* k;
    size_t kl = bson_uint32_to_string(uint32_t(j), &k, buf, sizeof buf);
    bson_append_double(&arr, k, int(kl), double(v[j]));
  }
  bson_append_array_end(parent, &arr);
}

class Server {
 public:
  explicit Server(const std::string& uri) {
    bson_error_t error;
    mongoc_uri_t* u = mongoc_uri_new_with_error(uri.c_str(), &error);
    if (u == nullptr) Die(std::string("bad MongoDB URI: ") + error.message);
    client_ = mongoc_client_new_from_uri_with_error(u, &error);
    mongoc_uri_destroy(u);
    if (client_ == nullptr) Die(std::string("mongoc client: ") + error.message);
    mongoc_client_set_error_api(client_, MONGOC_ERROR_API_VERSION_2);
    coll_ = mongoc_client_get_collection(client_, kDb, kColl);
  }
  ~Server() {
    mongoc_collection_destroy(coll_);
    mongoc_client_destroy(client_);
  }

  void Command(const bson_t* cmd, const char* what, const char* db = kDb) {
    bson_error_t error;
    bson_t reply;
    bool ok = mongoc_client_command_simple(client_, db, cmd, nullptr, &reply, &error);
    bson_destroy(&reply);
    if (!ok) Die(std::string(what) + ": " + error.message);
  }

  void Load(const std::vector<float>& base, size_t n, size_t d, size_t batch) {
    bson_error_t error;
    if (!mongoc_collection_drop(coll_, &error) && error.code != 26 /* NamespaceNotFound */)
      Die(std::string("drop: ") + error.message);
    // A plain array: bson_t is over-aligned, which std::vector<bson_t*> warns about.
    bson_t** docs = static_cast<bson_t**>(bson_malloc(sizeof(bson_t*) * batch));
    for (size_t i = 0; i < n; i += batch) {
      size_t e = std::min(n, i + batch), m = 0;
      for (size_t r = i; r < e; ++r) {
        bson_t* doc = bson_new();
        BSON_APPEND_INT64(doc, "_id", int64_t(r));
        AppendVector(doc, "v", base.data() + r * d, d);
        docs[m++] = doc;
      }
      bool ok = mongoc_collection_insert_many(coll_, const_cast<const bson_t**>(docs), m, nullptr, nullptr, &error);
      for (size_t j = 0; j < m; ++j) bson_destroy(docs[j]);
      if (!ok) Die(std::string("insert_many: ") + error.message);
    }
    bson_free(docs);
  }

  void CreateIndex(size_t d, bool angular, size_t M, size_t efc) {
    bson_t cmd, indexes, idx, def, fields, field, hnsw;
    bson_init(&cmd);
    BSON_APPEND_UTF8(&cmd, "createSearchIndexes", kColl);
    bson_append_array_begin(&cmd, "indexes", -1, &indexes);
    bson_append_document_begin(&indexes, "0", -1, &idx);
    BSON_APPEND_UTF8(&idx, "name", kIndex);
    BSON_APPEND_UTF8(&idx, "type", "vectorSearch");
    bson_append_document_begin(&idx, "definition", -1, &def);
    bson_append_array_begin(&def, "fields", -1, &fields);
    bson_append_document_begin(&fields, "0", -1, &field);
    BSON_APPEND_UTF8(&field, "type", "vector");
    BSON_APPEND_UTF8(&field, "path", "v");
    BSON_APPEND_INT32(&field, "numDimensions", int32_t(d));
    BSON_APPEND_UTF8(&field, "similarity", angular ? "cosine" : "euclidean");
    bson_append_document_begin(&field, "hnswOptions", -1, &hnsw);
    BSON_APPEND_INT32(&hnsw, "maxEdges", int32_t(M));
    BSON_APPEND_INT32(&hnsw, "numEdgeCandidates", int32_t(efc));
    bson_append_document_end(&field, &hnsw);
    bson_append_document_end(&fields, &field);
    bson_append_array_end(&def, &fields);
    bson_append_document_end(&idx, &def);
    bson_append_document_end(&indexes, &idx);
    bson_append_array_end(&cmd, &indexes);
    Command(&cmd, "createSearchIndexes");
    bson_destroy(&cmd);
  }

  // One `ping` round trip (the wire's floor for any command on this connection).
  void Ping() {
    bson_t cmd;
    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "ping", 1);
    Command(&cmd, "ping", "admin");
    bson_destroy(&cmd);
  }

  // Status of the index as $listSearchIndexes reports it ("" when absent).
  std::string IndexStatus() {
    bson_t* pipeline =
        BCON_NEW("pipeline", "[", "{", "$listSearchIndexes", "{", "name", BCON_UTF8(kIndex), "}", "}", "]");
    mongoc_cursor_t* c = mongoc_collection_aggregate(coll_, MONGOC_QUERY_NONE, pipeline, nullptr, nullptr);
    const bson_t* doc;
    std::string status;
    while (mongoc_cursor_next(c, &doc)) {
      bson_iter_t it;
      if (bson_iter_init_find(&it, doc, "status") && BSON_ITER_HOLDS_UTF8(&it)) status = bson_iter_utf8(&it, nullptr);
    }
    bson_error_t error;
    if (mongoc_cursor_error(c, &error)) Die(std::string("$listSearchIndexes: ") + error.message);
    mongoc_cursor_destroy(c);
    bson_destroy(pipeline);
    return status;
  }

  // One $vectorSearch; writes the `limit` _ids (or -1) to out.
  void Search(const float* q, size_t d, size_t num_candidates, size_t limit, int64_t* out) {
    bson_t pipeline, stage, vs, proj, projd, meta;
    bson_init(&pipeline);
    bson_append_array_begin(&pipeline, "pipeline", -1, &stage);
    {
      bson_t s0;
      bson_append_document_begin(&stage, "0", -1, &s0);
      bson_append_document_begin(&s0, "$vectorSearch", -1, &vs);
      BSON_APPEND_UTF8(&vs, "index", kIndex);
      BSON_APPEND_UTF8(&vs, "path", "v");
      AppendVector(&vs, "queryVector", q, d);
      BSON_APPEND_INT32(&vs, "numCandidates", int32_t(num_candidates));
      BSON_APPEND_INT32(&vs, "limit", int32_t(limit));
      bson_append_document_end(&s0, &vs);
      bson_append_document_end(&stage, &s0);
    }
    bson_append_document_begin(&stage, "1", -1, &proj);
    bson_append_document_begin(&proj, "$project", -1, &projd);
    BSON_APPEND_INT32(&projd, "_id", 1);
    bson_append_document_begin(&projd, "score", -1, &meta);
    BSON_APPEND_UTF8(&meta, "$meta", "vectorSearchScore");
    bson_append_document_end(&projd, &meta);
    bson_append_document_end(&proj, &projd);
    bson_append_document_end(&stage, &proj);
    bson_append_array_end(&pipeline, &stage);
    mongoc_cursor_t* c = mongoc_collection_aggregate(coll_, MONGOC_QUERY_NONE, &pipeline, nullptr, nullptr);
    const bson_t* doc;
    size_t n = 0;
    while (mongoc_cursor_next(c, &doc)) {
      bson_iter_t it;
      if (n < limit && bson_iter_init_find(&it, doc, "_id")) out[n++] = bson_iter_as_int64(&it);
    }
    bson_error_t error;
    if (mongoc_cursor_error(c, &error)) Die(std::string("$vectorSearch: ") + error.message);
    mongoc_cursor_destroy(c);
    bson_destroy(&pipeline);
    for (; n < limit; ++n) out[n] = -1;
  }

 private:
  mongoc_client_t* client_ = nullptr;
  mongoc_collection_t* coll_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  std::string uri, data_dir, ef_list = "40,80,160";
  size_t nq_limit = 5000, M = 16, efc = 200, batch = 1000;
  int rounds = 3, pid = 0;
  bool skip_load = false, skip_local = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skip-load") {
      skip_load = true;
      continue;
    }
    if (a == "--skip-local") {  // only the server side (for profiling it)
      skip_local = true;
      continue;
    }
    if (i + 1 >= argc) Die("flag " + a + " needs a value");
    std::string v = argv[++i];
    if (a == "--mongo")
      uri = v;
    else if (a == "--data")
      data_dir = v;
    else if (a == "--pid")
      pid = std::stoi(v);
    else if (a == "--nq")
      nq_limit = std::stoul(v);
    else if (a == "--ef")
      ef_list = v;
    else if (a == "--rounds")
      rounds = std::stoi(v);
    else if (a == "--M")
      M = std::stoul(v);
    else if (a == "--efc")
      efc = std::stoul(v);
    else if (a == "--batch")
      batch = std::stoul(v);
    else
      Die("unknown flag " + a);
  }
  if (uri.empty() || data_dir.empty()) Die("usage: vector_e2e --mongo URI --data DIR/<dataset> [flags]");
  while (!data_dir.empty() && data_dir.back() == '/') data_dir.pop_back();
  std::string name = data_dir.substr(data_dir.rfind('/') + 1);
  std::string prefix = data_dir + "/" + name;
  const bool angular = name.find("angular") != std::string::npos;
  size_t d = 0, qd = 0, gd = 0;
  std::vector<float> base = ReadVecs<float>(prefix + ".base.fvecs", &d);
  std::vector<float> queries = ReadVecs<float>(prefix + ".query.fvecs", &qd, nq_limit);
  std::vector<int32_t> gt = ReadVecs<int32_t>(prefix + ".gt.all.ivecs", &gd, nq_limit);
  const size_t n = base.size() / d, nq = queries.size() / qd;
  if (qd != d || gd < 10) Die("dataset dimensions disagree");
  std::vector<size_t> efs = ParseList(ef_list);

  mongoc_init();
  double l1 = 0, l5 = 0, l15 = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3) l1 = l5 = l15 = 0;
    std::fclose(f);
  }
  std::printf(
      "# vector_e2e %s: %zu vectors x %zu dims, %zu queries, %s, maxEdges=%zu numEdgeCandidates=%zu, "
      "limit 10, rounds=%d, kernels=%s; load average at start %.2f %.2f %.2f\n",
      name.c_str(), n, d, nq, angular ? "cosine" : "euclidean", M, efc, rounds,
      std::string(HnswIndex::ActiveKernelName()).c_str(), l1, l5, l15);
  std::fflush(stdout);

  Server server(uri);
  if (!skip_load) {
    auto t0 = Clock::now();
    server.Load(base, n, d, batch);
    auto t1 = Clock::now();
    server.CreateIndex(d, angular, M, efc);
    std::string status;
    for (int i = 0; i < 36000; ++i) {  // 1 hour at most
      status = server.IndexStatus();
      if (status == "READY" || status == "FAILED") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto t2 = Clock::now();
    if (status != "READY") Die("index status " + status + " (not READY)");
    std::printf(
        "# server: loaded %zu documents in %.1f s (insertMany of %zu), index READY %.1f s after "
        "createSearchIndexes\n",
        n, Seconds(t0, t1), batch, Seconds(t1, t2));
  } else if (server.IndexStatus() != "READY") {
    Die("--skip-load: index " + std::string(kIndex) + " is not READY");
  }

  // Let the server settle: after READY it saves the graph's snapshot, and RocksDB flushes and
  // compacts the freshly loaded documents; neither should be charged to the queries. `fsync`
  // first writes the bulk load out of the memtables, where a server in steady state does not
  // hold it (a point read there walks a skip list of tens of thousands of fresh documents).
  {
    bson_t fsync;
    bson_init(&fsync);
    BSON_APPEND_INT32(&fsync, "fsync", 1);
    server.Command(&fsync, "fsync", "admin");
    bson_destroy(&fsync);
  }
  if (pid > 0) {
    auto t0 = Clock::now();
    for (int i = 0; i < 120; ++i) {
      double c0 = ProcessCpuSeconds(pid);
      std::this_thread::sleep_for(std::chrono::seconds(1));
      if (ProcessCpuSeconds(pid) - c0 < 0.05) break;
    }
    std::printf("# server idle (< 5%% CPU over 1 s) %.1f s after READY\n", Seconds(t0, Clock::now()));
  }

  HnswOptions o;
  o.dims = uint32_t(d);
  o.metric = angular ? VectorMetric::kCosine : VectorMetric::kEuclidean;
  o.max_edges = uint32_t(M);
  o.ef_construction = uint32_t(efc);
  std::unique_ptr<HnswIndex> local = std::move(HnswIndex::Create(o)).value();
  if (!skip_local) {
    auto t0 = Clock::now();
    local->Reserve(n);
    for (size_t i = 0; i < n; ++i)
      if (!local->Add(i, base.data() + i * d).ok()) Die("in-process Add failed");
    std::printf("# in-process index built in %.1f s\n", Seconds(t0, Clock::now()));
  }
  std::fflush(stdout);

  struct Cell {
    std::vector<double> local_qps, remote_qps, server_cpu_us;
    double local_recall = 0, remote_recall = 0;
  };
  // The wire's floor: `ping` round trips on the same connection, per round (median reported).
  std::vector<double> ping_us, ping_cpu_us;
  std::vector<Cell> cells(efs.size());
  std::vector<int64_t> got(nq * 10);
  std::vector<VectorHit> hits;
  // Warm-up: one pass over the queries at the first ef both ways (page cache, block cache, pools).
  for (size_t i = 0; i < nq; ++i) server.Search(queries.data() + i * d, d, efs[0], 10, got.data() + i * 10);
  for (int r = 0; r < rounds; ++r) {
    {
      double cpu0 = ProcessCpuSeconds(pid);
      auto t0 = Clock::now();
      for (size_t i = 0; i < nq; ++i) server.Ping();
      ping_us.push_back(Seconds(t0, Clock::now()) * 1e6 / double(nq));
      ping_cpu_us.push_back((ProcessCpuSeconds(pid) - cpu0) * 1e6 / double(nq));
    }
    for (size_t e = 0; e < efs.size(); ++e) {
      Cell& c = cells[e];
      SearchOptions so;
      so.k = 10;
      so.ef = std::max<size_t>(efs[e], 10);
      auto t0 = Clock::now();
      for (size_t i = 0; i < nq && !skip_local; ++i) {
        if (!local->Search(queries.data() + i * d, so, &hits).ok()) Die("in-process Search failed");
        for (size_t j = 0; j < 10; ++j) got[i * 10 + j] = j < hits.size() ? int64_t(hits[j].label) : -1;
      }
      c.local_qps.push_back(double(nq) / Seconds(t0, Clock::now()));
      c.local_recall = RecallAt10(got, gt, gd, nq);

      double cpu0 = ProcessCpuSeconds(pid);
      t0 = Clock::now();
      for (size_t i = 0; i < nq; ++i) server.Search(queries.data() + i * d, d, efs[e], 10, got.data() + i * 10);
      c.remote_qps.push_back(double(nq) / Seconds(t0, Clock::now()));
      c.server_cpu_us.push_back((ProcessCpuSeconds(pid) - cpu0) * 1e6 / double(nq));
      c.remote_recall = RecallAt10(got, gt, gd, nq);
    }
  }
  // "ping bound": the ratio if a query cost exactly one ping round trip plus the in-process
  // search, i.e. zero server overhead beyond the search (1 / (1 + ping time / search time)).
  const double ping = Median(ping_us);
  std::printf("# ping round trip %.1f us (amalgamd CPU %.1f us per ping), median of %d rounds of %zu\n", ping,
              pid > 0 ? Median(ping_cpu_us) : 0.0, rounds, nq);
  std::printf(
      "\n| numCandidates (ef) | in-process recall@10 | in-process QPS | $vectorSearch recall@10 | "
      "$vectorSearch QPS | e2e / in-process | ping bound | server CPU us/query |\n|---|---|---|---|---|---|---|---|\n");
  for (size_t e = 0; e < efs.size(); ++e) {
    const Cell& c = cells[e];
    double lq = Median(c.local_qps), rq = Median(c.remote_qps);
    std::string bound = skip_local ? "-" : std::to_string(int(100 / (1 + ping * lq / 1e6) + 0.5)) + "%";
    std::printf("| %zu | %.4f | %.0f | %.4f | %.0f | %.0f%% | %s | %s |\n", efs[e], c.local_recall, lq, c.remote_recall,
                rq, 100 * rq / lq, bound.c_str(), pid > 0 ? std::to_string(int(Median(c.server_cpu_us))).c_str() : "-");
  }
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
      std::printf("# load average at end: %.2f %.2f %.2f\n", l1, l5, l15);
    std::fclose(f);
  }
  mongoc_cleanup();
  return 0;
}
