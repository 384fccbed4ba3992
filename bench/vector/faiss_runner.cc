// FAISS 1.7.3 (Debian's libfaiss-dev) IndexHNSWFlat. FAISS parallelizes with OpenMP: the thread
// count is set to the bench's --threads for both add and search, and queries go in one batch
// call, the way FAISS is meant to be used.
#include <faiss/IndexHNSW.h>
#include <omp.h>

#include "peers.h"

namespace vbench {
namespace {

class FaissRunner : public Runner {
 public:
  FaissRunner(Metric m, size_t dims, size_t M, size_t efc, int threads)
      : index_(int(dims), int(M), m == Metric::kL2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT),
        threads_(threads) {
    index_.hnsw.efConstruction = int(efc);
  }
  std::string name() const override { return "faiss"; }
  void Build(const float* data, size_t n) override {
    omp_set_num_threads(threads_);
    index_.add(faiss::Index::idx_t(n), data);
  }
  void SetEf(size_t ef) override { index_.hnsw.efSearch = int(ef); }
  void Search(const float* q, size_t k, int64_t* out) const override {
    std::vector<float> dist(k);
    index_.search(1, q, faiss::Index::idx_t(k), dist.data(), out);
  }
  void SearchBatch(const float* qs, size_t nq, size_t d, size_t k, int64_t* out, int threads) const override {
    omp_set_num_threads(threads);
    std::vector<float> dist(nq * k);
    index_.search(faiss::Index::idx_t(nq), qs, faiss::Index::idx_t(k), dist.data(), out);
  }

 private:
  faiss::IndexHNSWFlat index_;
  int threads_;
};

}  // namespace

std::unique_ptr<Runner> MakeFaiss(Metric m, size_t dims, size_t M, size_t efc, int threads) {
  return std::make_unique<FaissRunner>(m, dims, M, efc, threads);
}
bool HaveFaiss() { return true; }

}  // namespace vbench
