#pragma once
// The indexes vector_bench compares behind one interface. Peers live in their own translation
// units: hnswlib is header-only and is compiled with -march=native (the instruction set our
// run-time-dispatched kernels use on the same machine), FAISS comes prebuilt from Debian.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vbench {

enum class Metric { kL2, kCosine };

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::string name() const = 0;
  // Adds rows 0..n-1 (labels = row numbers) on the calling thread.
  virtual void Build(const float* data, size_t n) = 0;
  virtual void SetEf(size_t ef) = 0;
  // k nearest labels of one query into out[0..k). Called concurrently from several threads.
  virtual void Search(const float* q, size_t k, int64_t* out) const = 0;
  // Batch search over `threads` threads; the default splits queries over std::threads.
  virtual void SearchBatch(const float* qs, size_t nq, size_t d, size_t k, int64_t* out, int threads) const;
  // Bytes the index reports for itself, or 0 if it has no such figure.
  virtual size_t SelfReportedBytes() const { return 0; }
};

// Data given to the peers is already L2-normalized for kCosine (they search inner product).
std::unique_ptr<Runner> MakeHnswlib(Metric m, size_t dims, size_t max_elements, size_t M, size_t ef_construction);
std::unique_ptr<Runner> MakeFaiss(Metric m, size_t dims, size_t M, size_t ef_construction, int threads);
bool HaveFaiss();

}  // namespace vbench
