// vector_bench: Amalgam's HNSW index against hnswlib and FAISS IndexHNSWFlat on the same data,
// with the same thread count, in one process: build time, memory, and recall@10 against queries
// per second at several ef; then Amalgam's int8 and binary quantization, and filtered search at
// the dataset's filter selectivities (~1%, ~10%, ~1% correlated).
//
// Data: a dataset folder made by ../shared/datasets/make_datasets.py (TEXMEX .fvecs/.ivecs).
// Usage: vector_bench --data DIR/ft100-angular [--n ROWS] [--nq QUERIES] [--threads T]
//          [--M 16] [--efc 200] [--ef 10,20,40,80,160,320] [--rounds 3]
//          [--only amalgam,hnswlib,faiss,sq8,bin,filter] [--nq-filter 1000]
//          [--rescore 4 (HnswOptions::rescore_multiplier)] [--vecfile-dir /tmp]
//          [--vecfile-mode pread|mmap]
// (--nq-filter: queries per filtered case; forced graph traversal at 1% is slow by design)
// QPS per (index, ef) is the median of --rounds rounds; indexes run side by side per round so
// background load hits all of them alike. Memory is the heap growth during the build
// (mallinfo2), which counts every allocation the library makes; the RSS growth during the build
// (/proc/self/statm) is printed next to it.
// The quantized indexes (sq8, bin) hold only codes: they re-score on full precision read with
// pread from a file of float32 rows written before their build (--vecfile-dir, default /tmp;
// on disk, served from the page cache during the run, not counted as heap), as Atlas reads
// full-fidelity vectors from disk.

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "index/vector/hnsw_index.h"
#include "peers.h"

namespace vbench {

void Runner::SearchBatch(const float* qs, size_t nq, size_t d, size_t k, int64_t* out, int threads) const {
  if (threads <= 1) {
    for (size_t i = 0; i < nq; ++i) Search(qs + i * d, k, out + i * k);
    return;
  }
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (size_t i = size_t(t); i < nq; i += size_t(threads)) Search(qs + i * d, k, out + i * k);
    });
  for (auto& th : ts) th.join();
}

}  // namespace vbench

namespace {

using amalgam::index::FilterPlan;
using amalgam::index::FullVectorSource;
using amalgam::index::HnswIndex;
using amalgam::index::HnswOptions;
using amalgam::index::SearchInfo;
using amalgam::index::SearchOptions;
using amalgam::index::VectorFilter;
using amalgam::index::VectorHit;
using amalgam::index::VectorMetric;
using amalgam::index::VectorQuantization;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// CPU time of the calling thread: with --threads 1 every index runs on this thread (FAISS's
// OpenMP team of one included), so CPU-time rates are what wall-clock rates would be on an idle
// machine, minus the cache and memory-bandwidth interference, which remains.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

template <class T>
std::vector<T> ReadVecs(const std::string& path, size_t* dim, size_t max_rows = SIZE_MAX) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "vector_bench: cannot open %s\n", path.c_str());
    std::exit(2);
  }
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

size_t HeapBytes() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// Resident set size (all resident pages of the process, file-backed included).
size_t RssBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return size_t(resident) * size_t(sysconf(_SC_PAGESIZE));
}

std::vector<size_t> ParseList(const std::string& s) {
  std::vector<size_t> v;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    v.push_back(std::stoul(s.substr(pos, end - pos)));
    pos = end + 1;
  }
  return v;
}

// The full-precision vectors of the quantized indexes, on disk: row i (label i) of n float32
// rows in a file, read with pread, or (use_mmap) copied from a read-only mapping of the file
// (no system call per row; the mapped pages count in RSS as file pages, not as heap). The file
// is removed when the source is destroyed.
class FileVectorSource : public FullVectorSource {
 public:
  FileVectorSource(const std::string& dir, const float* data, size_t n, size_t d, bool use_mmap)
      : d_(d), bytes_(n * d * 4) {
    std::string tmpl = dir + "/amalgam-vector-bench-XXXXXX";
    std::vector<char> path(tmpl.begin(), tmpl.end());
    path.push_back('\0');
    fd_ = mkstemp(path.data());
    if (fd_ < 0) {
      std::perror("vector_bench: mkstemp");
      std::exit(2);
    }
    path_ = path.data();
    const char* p = reinterpret_cast<const char*>(data);
    for (size_t off = 0; off < bytes_;) {
      ssize_t w = ::pwrite(fd_, p + off, std::min<size_t>(bytes_ - off, 1 << 24), off_t(off));
      if (w <= 0) {
        std::perror("vector_bench: writing the vector file");
        std::exit(2);
      }
      off += size_t(w);
    }
    if (use_mmap) {
      void* m = ::mmap(nullptr, bytes_, PROT_READ, MAP_SHARED, fd_, 0);
      if (m == MAP_FAILED) {
        std::perror("vector_bench: mmap");
        std::exit(2);
      }
      map_ = static_cast<const char*>(m);
    }
  }
  ~FileVectorSource() override {
    if (map_) ::munmap(const_cast<char*>(map_), bytes_);
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  amalgam::Status Fetch(std::span<const uint64_t> labels, float* out, uint8_t* found) const override {
    const size_t row = d_ * sizeof(float);
    if (map_) {
      for (size_t i = 0; i < labels.size(); ++i) {
        found[i] = labels[i] * row + row <= bytes_;
        if (found[i]) std::memcpy(out + i * d_, map_ + labels[i] * row, row);
      }
      return amalgam::Status::OK();
    }
    for (size_t i = 0; i < labels.size(); ++i) {
      ssize_t r = ::pread(fd_, out + i * d_, row, off_t(labels[i] * row));
      found[i] = r == ssize_t(row);
    }
    return amalgam::Status::OK();
  }
  size_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  const char* map_ = nullptr;
  size_t d_, bytes_;
  std::string path_;
};

// Amalgam's index behind the peers' interface.
class AmalgamRunner : public vbench::Runner {
 public:
  AmalgamRunner(std::string name, const HnswOptions& o, std::shared_ptr<const FullVectorSource> source = nullptr)
      : name_(std::move(name)) {
    index_ = std::move(HnswIndex::Create(o)).value();
    if (source) index_->SetFullVectorSource(std::move(source));
  }
  std::string name() const override { return name_; }
  void Build(const float* data, size_t n) override {
    index_->Reserve(n);
    size_t d = index_->options().dims;
    for (size_t i = 0; i < n; ++i)
      if (!index_->Add(i, data + i * d).ok()) std::abort();
  }
  void SetEf(size_t ef) override { ef_ = ef; }
  void Search(const float* q, size_t k, int64_t* out) const override {
    thread_local std::vector<VectorHit> hits;
    SearchOptions so;
    so.k = k;
    so.ef = ef_;
    if (!index_->Search(q, so, &hits).ok()) std::abort();
    for (size_t i = 0; i < k; ++i) out[i] = i < hits.size() ? int64_t(hits[i].label) : -1;
  }
  size_t SelfReportedBytes() const override { return index_->MemoryBytes(); }
  HnswIndex& index() { return *index_; }
  size_t ef() const { return ef_; }

 private:
  std::string name_;
  std::unique_ptr<HnswIndex> index_;
  size_t ef_ = 10;
};

double RecallAt10(const std::vector<int64_t>& got, const std::vector<int32_t>& gt, size_t gt_dim, size_t nq) {
  size_t hit = 0;
  for (size_t i = 0; i < nq; ++i) {
    std::set<int64_t> want(gt.begin() + long(i * gt_dim), gt.begin() + long(i * gt_dim + 10));
    for (size_t j = 0; j < 10; ++j) hit += want.count(got[i * 10 + j]);
  }
  return double(hit) / double(nq * 10);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Row {
  double recall = 0;
  std::vector<double> qps, cpu_qps;
  double median() const { return Median(qps); }
  double cpu_median() const { return Median(cpu_qps); }
};

struct Built {
  std::unique_ptr<vbench::Runner> r;
  double build_s = 0, build_cpu_s = 0;
  size_t heap_bytes = 0;
  long rss_delta = 0;
};

class LabelsPredicate : public amalgam::index::LabelPredicate {
 public:
  LabelsPredicate(const std::vector<int32_t>& attrs, int kind, int32_t lo, int32_t hi)
      : attrs_(attrs), kind_(kind), lo_(lo), hi_(hi) {}
  bool Accepts(uint64_t label) const override {
    int32_t v = attrs_[label * 2 + (kind_ == 2 ? 1 : 0)];
    return v >= lo_ && v < hi_;
  }

 private:
  const std::vector<int32_t>& attrs_;
  int kind_;
  int32_t lo_, hi_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir, only = "amalgam,hnswlib,faiss,sq8,bin,filter", ef_list = "10,20,40,80,160,320";
  std::string vecfile_dir = "/tmp", vecfile_mode = "pread";
  size_t n_limit = SIZE_MAX, nq_limit = 10000, nq_filter = 1000, M = 16, efc = 200, rescore = 4;
  int threads = 1, rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--data") data_dir = v;
    else if (a == "--n") n_limit = std::stoul(v);
    else if (a == "--nq") nq_limit = std::stoul(v);
    else if (a == "--nq-filter") nq_filter = std::stoul(v);
    else if (a == "--threads") threads = std::stoi(v);
    else if (a == "--M") M = std::stoul(v);
    else if (a == "--efc") efc = std::stoul(v);
    else if (a == "--ef") ef_list = v;
    else if (a == "--rounds") rounds = std::stoi(v);
    else if (a == "--only") only = v;
    else if (a == "--vecfile-dir") vecfile_dir = v;
    else if (a == "--vecfile-mode") vecfile_mode = v;
    else if (a == "--rescore") rescore = std::stoul(v);
    else {
      std::fprintf(stderr, "vector_bench: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (data_dir.empty()) {
    std::fprintf(stderr, "usage: vector_bench --data DIR/<dataset> [--n N] [--nq Q] [--threads T] ...\n");
    return 2;
  }
  auto want = [&](const char* what) { return ("," + only + ",").find("," + std::string(what) + ",") != std::string::npos; };
  while (!data_dir.empty() && data_dir.back() == '/') data_dir.pop_back();
  std::string name = data_dir.substr(data_dir.rfind('/') + 1);
  std::string prefix = data_dir + "/" + name;
  const bool angular = name.find("angular") != std::string::npos;
  size_t d = 0, qd = 0, gd = 0, ad = 0, fd = 0;
  std::vector<float> base = ReadVecs<float>(prefix + ".base.fvecs", &d, n_limit);
  std::vector<float> queries = ReadVecs<float>(prefix + ".query.fvecs", &qd, nq_limit);
  const size_t n = base.size() / d, nq = queries.size() / qd;
  std::vector<int32_t> gt_all = ReadVecs<int32_t>(prefix + ".gt.all.ivecs", &gd, nq_limit);
  if (n_limit != SIZE_MAX) {
    std::fprintf(stderr, "vector_bench: --n needs ground truth for the subset; not supported\n");
    return 2;
  }
  if (angular) {  // the peers search inner product on unit vectors; Amalgam normalizes itself
    for (std::vector<float>* v : {&base, &queries})
      for (size_t i = 0; i < v->size(); i += d) {
        double s = 0;
        for (size_t j = 0; j < d; ++j) s += double((*v)[i + j]) * (*v)[i + j];
        float inv = float(1 / std::sqrt(s));
        for (size_t j = 0; j < d; ++j) (*v)[i + j] *= inv;
      }
  }
  std::printf("# vector_bench %s: %zu vectors x %zu dims, %zu queries, %s, M=%zu efConstruction=%zu, threads=%d, "
              "kernels=%s, rounds=%d\n",
              name.c_str(), n, d, nq, angular ? "cosine" : "euclidean", M, efc, threads,
              std::string(HnswIndex::ActiveKernelName()).c_str(), rounds);
  {
    double l1, l5, l15;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
      if (std::fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
        std::printf("# load average at start: %.2f %.2f %.2f\n", l1, l5, l15);
      std::fclose(f);
    }
  }
  std::fflush(stdout);

  HnswOptions base_opt;
  base_opt.dims = uint32_t(d);
  base_opt.metric = angular ? VectorMetric::kCosine : VectorMetric::kEuclidean;
  base_opt.max_edges = uint32_t(M);
  base_opt.ef_construction = uint32_t(efc);
  base_opt.rescore_multiplier = uint32_t(rescore);
  const vbench::Metric pm = angular ? vbench::Metric::kCosine : vbench::Metric::kL2;

  std::vector<Built> built;
  // Construction and build both count: hnswlib allocates its arrays in its constructor.
  auto build = [&](auto make) {
    Built b;
    size_t before = HeapBytes();
    size_t rss_before = RssBytes();
    auto t0 = Clock::now();
    double c0 = ThreadCpuSeconds();
    std::unique_ptr<vbench::Runner> r = make();
    r->Build(base.data(), n);
    b.build_s = Seconds(t0, Clock::now());
    b.build_cpu_s = ThreadCpuSeconds() - c0;
    b.heap_bytes = HeapBytes() - before;
    b.rss_delta = long(RssBytes()) - long(rss_before);
    std::printf("# built %-10s in %7.2f s (%.2f s CPU), heap +%8.1f MB, RSS %+.1f MB%s\n", r->name().c_str(), b.build_s,
                b.build_cpu_s, double(b.heap_bytes) / 1e6, double(b.rss_delta) / 1e6,
                r->SelfReportedBytes() ? (", self-reported " + std::to_string(r->SelfReportedBytes() / 1000000.0).substr(0, 6) + " MB").c_str() : "");
    std::fflush(stdout);
    b.r = std::move(r);
    built.push_back(std::move(b));
  };
  // Peers first: each one's heap delta includes only itself.
  if (want("hnswlib")) build([&] { return vbench::MakeHnswlib(pm, d, n, M, efc); });
  if (want("faiss") && vbench::HaveFaiss()) build([&] { return vbench::MakeFaiss(pm, d, M, efc, threads); });
  if (want("amalgam")) build([&] { return std::make_unique<AmalgamRunner>("amalgam", base_opt); });
  std::shared_ptr<FileVectorSource> on_disk;
  if (want("sq8") || want("bin")) {
    if (vecfile_mode != "pread" && vecfile_mode != "mmap") {
      std::fprintf(stderr, "vector_bench: --vecfile-mode is pread or mmap\n");
      return 2;
    }
    on_disk = std::make_shared<FileVectorSource>(vecfile_dir, base.data(), n, d, vecfile_mode == "mmap");
    std::printf("# quantized indexes re-score from %s (%.1f MB of float32 rows on disk, read with %s)\n",
                on_disk->path().c_str(), double(on_disk->bytes()) / 1e6, vecfile_mode.c_str());
  }
  if (want("sq8")) {
    HnswOptions o = base_opt;
    o.quantization = VectorQuantization::kScalar;
    build([&] { return std::make_unique<AmalgamRunner>("amalgam-sq8", o, on_disk); });
  }
  if (want("bin")) {
    HnswOptions o = base_opt;
    o.quantization = VectorQuantization::kBinary;
    build([&] { return std::make_unique<AmalgamRunner>("amalgam-bin", o, on_disk); });
  }

  const std::vector<size_t> efs = ParseList(ef_list);
  std::map<std::pair<std::string, size_t>, Row> rows;
  std::vector<int64_t> got(nq * 10);
  for (size_t ef : efs) {
    for (int round = 0; round < rounds; ++round) {
      for (Built& b : built) {
        b.r->SetEf(ef);
        auto t0 = Clock::now();
        double c0 = ThreadCpuSeconds();
        b.r->SearchBatch(queries.data(), nq, d, 10, got.data(), threads);
        double s = Seconds(t0, Clock::now());
        Row& row = rows[{b.r->name(), ef}];
        row.qps.push_back(double(nq) / s);
        row.cpu_qps.push_back(double(nq) / (ThreadCpuSeconds() - c0));
        row.recall = RecallAt10(got, gt_all, gd, nq);
      }
    }
  }
  const bool cpu_valid = threads == 1;
  std::printf("\n| index | build s (CPU s) | heap MB | ef | recall@10 | QPS | QPS per CPU s |\n|---|---|---|---|---|---|---|\n");
  std::map<std::string, double> best95, best95cpu;  // best QPS at recall >= 0.95
  for (Built& b : built) {
    for (size_t ef : efs) {
      const Row& row = rows[{b.r->name(), ef}];
      std::printf("| %s | %.2f (%.2f) | %.1f | %zu | %.4f | %.0f | %s |\n", b.r->name().c_str(), b.build_s,
                  b.build_cpu_s, double(b.heap_bytes) / 1e6, ef, row.recall, row.median(),
                  cpu_valid ? std::to_string(int(row.cpu_median())).c_str() : "-");
      if (row.recall >= 0.95) {
        best95[b.r->name()] = std::max(best95[b.r->name()], row.median());
        best95cpu[b.r->name()] = std::max(best95cpu[b.r->name()], row.cpu_median());
      }
    }
  }
  std::printf("\nbest QPS at recall@10 >= 0.95 (wall / per CPU s):");
  for (auto& [k, v] : best95) std::printf(" %s %.0f / %.0f;", k.c_str(), v, best95cpu[k]);
  std::printf("\n");
  if (best95.count("amalgam") && best95.count("hnswlib"))
    std::printf("amalgam / hnswlib QPS at recall >= 0.95: %.2fx wall, %.2fx per CPU s (target >= 1.2x)\n",
                best95["amalgam"] / best95["hnswlib"], best95cpu["amalgam"] / best95cpu["hnswlib"]);
  for (Built& b : built) {
    auto* a = dynamic_cast<AmalgamRunner*>(b.r.get());
    if (!a) continue;
    auto st = a->index().Stats();
    std::printf("%s: in memory %.1f MB = graph+metadata %.1f + codes %.1f + float32 vectors %.1f + label map %.1f%s\n",
                b.r->name().c_str(), st.total_bytes / 1e6, st.graph_bytes / 1e6, st.code_bytes / 1e6,
                st.full_vector_bytes / 1e6, st.label_map_bytes / 1e6,
                st.code_bytes && on_disk ? ("; re-scoring vectors on disk " + std::to_string(on_disk->bytes() / 1e6).substr(0, 6) + " MB").c_str() : "");
  }
  {
    const Built* full = nullptr;
    for (const Built& b : built)
      if (b.r->name() == "amalgam") full = &b;
    for (const Built& b : built) {
      auto* a = dynamic_cast<AmalgamRunner*>(b.r.get());
      if (!full || !a || b.r->name() == "amalgam") continue;
      std::printf("%s memory / amalgam float32: heap %.1f%%, self-reported %.1f%% (target for int8 <= 35%%)\n",
                  b.r->name().c_str(), 100.0 * double(b.heap_bytes) / double(full->heap_bytes),
                  100.0 * double(a->SelfReportedBytes()) / double(full->r->SelfReportedBytes()));
    }
  }
  std::fflush(stdout);

  // ------------------------------------------------------------------------- filtered
  AmalgamRunner* am = nullptr;
  for (Built& b : built)
    if (b.r->name() == "amalgam") am = static_cast<AmalgamRunner*>(b.r.get());
  if (!want("filter") || !am) return 0;
  std::vector<int32_t> attrs = ReadVecs<int32_t>(prefix + ".base.attrs.ivecs", &ad);
  std::vector<int32_t> filters = ReadVecs<int32_t>(prefix + ".query.filters.ivecs", &fd, nq_limit);
  // The engine's filter index, in miniature: labels by category and by tenant.
  std::map<int32_t, std::vector<uint64_t>> by_cat, by_tenant;
  for (size_t i = 0; i < n; ++i) {
    by_cat[attrs[i * 2]].push_back(i);
    by_tenant[attrs[i * 2 + 1]].push_back(i);
  }
  struct Case {
    const char* name;
    int kind;  // 0: category == cat, 1: cat_lo <= category < cat_hi, 2: tenant == t
  };
  const size_t nqf = std::min(nq, nq_filter);
  std::printf("\nfiltered search (amalgam, k=10, first %zu queries); allow-list = labels from a category/tenant "
              "index, built per query and included in the time\n", nqf);
  std::printf("| filter | selectivity | plan | ef | recall@10 | QPS | QPS per CPU s | exact-scan share |\n|---|---|---|---|---|---|---|---|\n");
  for (Case c : {Case{"f1", 0}, Case{"f10", 1}, Case{"t1", 2}}) {
    size_t gtd = 0;
    std::vector<int32_t> gt = ReadVecs<int32_t>(prefix + ".gt." + c.name + ".ivecs", &gtd, nq_limit);
    double sel_sum = 0;
    std::vector<uint64_t> allow;
    struct Mode {
      const char* name;
      FilterPlan force;
      bool predicate;
    };
    for (Mode m : {Mode{"auto", FilterPlan::kNone, false}, Mode{"exact", FilterPlan::kExactScan, false},
                   Mode{"graph+allow", FilterPlan::kFilteredGraph, false},
                   Mode{"graph+predicate", FilterPlan::kFilteredGraph, true}}) {
      for (size_t ef : efs) {
        if (m.force == FilterPlan::kExactScan && ef != efs.front()) continue;  // ef does not matter
        Row row;
        size_t exact_count = 0;
        for (int round = 0; round < rounds; ++round) {
          std::vector<VectorHit> hits;
          exact_count = 0;
          sel_sum = 0;
          auto t0 = Clock::now();
          double c0 = ThreadCpuSeconds();
          for (size_t q = 0; q < nqf; ++q) {
            const int32_t* f = &filters[q * fd];
            int32_t lo = c.kind == 0 ? f[0] : c.kind == 1 ? f[1] : f[3];
            int32_t hi = c.kind == 1 ? f[2] : lo + 1;
            allow.clear();
            if (c.kind == 2) {
              auto it = by_tenant.find(lo);
              if (it != by_tenant.end()) allow = it->second;
            } else {
              for (auto it = by_cat.lower_bound(lo); it != by_cat.end() && it->first < hi; ++it)
                allow.insert(allow.end(), it->second.begin(), it->second.end());
            }
            sel_sum += double(allow.size()) / double(n);
            LabelsPredicate pred(attrs, c.kind, lo, hi);
            VectorFilter vf = m.predicate ? VectorFilter::Predicate(&pred, double(allow.size()) / double(n))
                                          : VectorFilter::AllowList(allow);
            SearchOptions so;
            so.k = 10;
            so.ef = ef;
            so.filter = &vf;
            so.force_plan = m.force;
            SearchInfo info;
            if (!am->index().Search(&queries[q * d], so, &hits, &info).ok()) std::abort();
            exact_count += info.plan == FilterPlan::kExactScan;
            for (size_t j = 0; j < 10; ++j) got[q * 10 + j] = j < hits.size() ? int64_t(hits[j].label) : -1;
          }
          row.qps.push_back(double(nqf) / Seconds(t0, Clock::now()));
          row.cpu_qps.push_back(double(nqf) / (ThreadCpuSeconds() - c0));
        }
        row.recall = RecallAt10(got, gt, gtd, nqf);
        std::printf("| %s | %.4f | %s | %zu | %.4f | %.0f | %.0f | %.2f |\n", c.name, sel_sum / double(nqf), m.name, ef,
                    row.recall, row.median(), row.cpu_median(), double(exact_count) / double(nqf));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
