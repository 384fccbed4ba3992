#pragma once
// Distance kernels for the vector index, chosen once at run time from the CPU: AVX-512
// (F+BW+VL, VPOPCNTDQ for Hamming when present), AVX2+FMA, or portable scalar code. All take
// unaligned pointers and any length (tails are masked or handled in scalar code).
// Thread-safe: the table is built before main() and never changes.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace amalgam::index::vecdist {

struct Kernels {
  // Squared L2 distance and inner product of n floats.
  float (*l2sq)(const float* a, const float* b, size_t n);
  float (*dot)(const float* a, const float* b, size_t n);
  // The same on int8 codes (exact integer arithmetic; n <= 65536 so int32 cannot overflow).
  int32_t (*l2sq_i8)(const int8_t* a, const int8_t* b, size_t n);
  int32_t (*dot_i8)(const int8_t* a, const int8_t* b, size_t n);
  // Number of differing bits between two bit strings of `words` 64-bit words.
  uint32_t (*hamming)(const uint64_t* a, const uint64_t* b, size_t words);
  // Sum of q[i] over the dimensions i whose bit is set in `bits` (n dimensions, bit i of word
  // i / 64): the asymmetric distance between a float query and a binary code.
  float (*masked_sum)(const float* q, const uint64_t* bits, size_t n);
  std::string_view name;  // "avx512", "avx2" or "scalar"
};

// The best kernels this CPU supports.
const Kernels& Active();
// Specific implementations, for tests that compare them. Scalar() always works; Avx2() and
// Avx512() return nullptr when the CPU lacks the instructions.
const Kernels& Scalar();
const Kernels* Avx2();
const Kernels* Avx512();

}  // namespace amalgam::index::vecdist
