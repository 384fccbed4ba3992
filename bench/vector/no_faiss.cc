// Built instead of faiss_runner.cc when libfaiss-dev is missing (scripts/bench_setup.sh installs it).
#include "peers.h"

namespace vbench {
std::unique_ptr<Runner> MakeFaiss(Metric, size_t, size_t, size_t, int) { return nullptr; }
bool HaveFaiss() { return false; }
}  // namespace vbench
