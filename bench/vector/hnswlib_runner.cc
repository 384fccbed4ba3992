// hnswlib 0.6.2 (Debian's libhnswlib-dev), compiled with -march=native by bench/vector/CMakeLists.txt.
#include <hnswlib/hnswlib.h>

#include "peers.h"

namespace vbench {
namespace {

class HnswlibRunner : public Runner {
 public:
  HnswlibRunner(Metric m, size_t dims, size_t max_elements, size_t M, size_t efc) {
    if (m == Metric::kL2)
      space_ = std::make_unique<hnswlib::L2Space>(dims);
    else
      space_ = std::make_unique<hnswlib::InnerProductSpace>(dims);
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), max_elements, M, efc, 100);
  }
  std::string name() const override { return "hnswlib"; }
  void Build(const float* data, size_t n) override {
    size_t d = *static_cast<size_t*>(space_->get_dist_func_param());
    for (size_t i = 0; i < n; ++i) index_->addPoint(data + i * d, i);
  }
  void SetEf(size_t ef) override { index_->setEf(ef); }
  void Search(const float* q, size_t k, int64_t* out) const override {
    auto res = index_->searchKnn(q, k);
    size_t i = res.size();
    for (size_t j = i; j < k; ++j) out[j] = -1;
    while (!res.empty()) {
      out[--i] = int64_t(res.top().second);
      res.pop();
    }
  }

 private:
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
};

}  // namespace

std::unique_ptr<Runner> MakeHnswlib(Metric m, size_t dims, size_t max_elements, size_t M, size_t efc) {
  return std::make_unique<HnswlibRunner>(m, dims, max_elements, M, efc);
}

}  // namespace vbench
