// The kernels are compiled per ISA with target attributes (the rest of the tree keeps the
// baseline -march), and one table is picked at static-initialization time.

#include "index/vector/distance.h"
#include "index/vector/distance_avx512.h"

// GCC 12's own AVX-512 reduction intrinsics trip -Wuninitialized (_mm256_undefined_si256 in
// avx512fintrin.h); the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace amalgam::index::vecdist {
namespace {

// ---------------------------------------------------------------------------------- scalar
float L2SqScalar(const float* a, const float* b, size_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < n; ++i) {
    float d = a[i] - b[i];
    s0 += d * d;
  }
  return (s0 + s1) + (s2 + s3);
}

float DotScalar(const float* a, const float* b, size_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

int32_t L2SqI8Scalar(const int8_t* a, const int8_t* b, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) {
    int32_t d = int32_t(a[i]) - int32_t(b[i]);
    s += d * d;
  }
  return s;
}

int32_t DotI8Scalar(const int8_t* a, const int8_t* b, size_t n) {
  int32_t s = 0;
  for (size_t i = 0; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}

uint32_t HammingScalar(const uint64_t* a, const uint64_t* b, size_t words) {
  uint32_t s = 0;
  for (size_t i = 0; i < words; ++i) s += uint32_t(__builtin_popcountll(a[i] ^ b[i]));
  return s;
}

float MaskedSumScalar(const float* q, const uint64_t* bits, size_t n) {
  float s = 0;
  for (size_t i = 0; i < n; ++i)
    if ((bits[i / 64] >> (i % 64)) & 1) s += q[i];
  return s;
}

// ------------------------------------------------------------------------------------ AVX2
#define AMALGAM_AVX2 __attribute__((target("avx2,fma,popcnt")))

AMALGAM_AVX2 inline float HSum256(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

AMALGAM_AVX2 inline int32_t HSum256i(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

AMALGAM_AVX2 float L2SqAvx2(const float* a, const float* b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
  }
  float s = HSum256(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) {
    float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

AMALGAM_AVX2 float DotAvx2(const float* a, const float* b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  float s = HSum256(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

AMALGAM_AVX2 int32_t L2SqI8Avx2(const int8_t* a, const int8_t* b, size_t n) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    __m256i d = _mm256_sub_epi16(x, y);
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, d));
  }
  int32_t s = HSum256i(acc);
  for (; i < n; ++i) {
    int32_t d = int32_t(a[i]) - int32_t(b[i]);
    s += d * d;
  }
  return s;
}

AMALGAM_AVX2 int32_t DotI8Avx2(const int8_t* a, const int8_t* b, size_t n) {
  __m256i acc = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
    __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
  }
  int32_t s = HSum256i(acc);
  for (; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}

AMALGAM_AVX2 uint32_t HammingPopcnt(const uint64_t* a, const uint64_t* b, size_t words) {
  uint32_t s = 0;
  for (size_t i = 0; i < words; ++i) s += uint32_t(_mm_popcnt_u64(a[i] ^ b[i]));
  return s;
}

AMALGAM_AVX2 float MaskedSumAvx2(const float* q, const uint64_t* bits, size_t n) {
  const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(bits);
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i m = _mm256_and_si256(_mm256_set1_epi32(bytes[i / 8]), sel);
    m = _mm256_cmpeq_epi32(m, sel);
    acc = _mm256_add_ps(acc, _mm256_and_ps(_mm256_castsi256_ps(m), _mm256_loadu_ps(q + i)));
  }
  float s = HSum256(acc);
  for (; i < n; ++i)
    if ((bits[i / 64] >> (i % 64)) & 1) s += q[i];
  return s;
}

// ---------------------------------------------------------------------------------- AVX-512
// The float32 and int8 bodies live in distance_avx512.h, shared with the inlined search loops.
#define AMALGAM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,popcnt")))

AMALGAM_AVX512 float L2SqAvx512(const float* a, const float* b, size_t n) { return avx512::L2Sq(a, b, n); }

AMALGAM_AVX512 float DotAvx512(const float* a, const float* b, size_t n) { return avx512::Dot(a, b, n); }

AMALGAM_AVX512 int32_t L2SqI8Avx512(const int8_t* a, const int8_t* b, size_t n) { return avx512::L2SqI8(a, b, n); }

AMALGAM_AVX512 int32_t DotI8Avx512(const int8_t* a, const int8_t* b, size_t n) { return avx512::DotI8(a, b, n); }

AMALGAM_AVX512 float MaskedSumAvx512(const float* q, const uint64_t* bits, size_t n) {
  const uint16_t* chunks = reinterpret_cast<const uint16_t*>(bits);
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm512_mask_add_ps(a0, __mmask16(chunks[i / 16]), a0, _mm512_loadu_ps(q + i));
    a1 = _mm512_mask_add_ps(a1, __mmask16(chunks[i / 16 + 1]), a1, _mm512_loadu_ps(q + i + 16));
  }
  for (; i + 16 <= n; i += 16)
    a0 = _mm512_mask_add_ps(a0, __mmask16(chunks[i / 16]), a0, _mm512_loadu_ps(q + i));
  if (i < n) {
    __mmask16 m = __mmask16(chunks[i / 16] & ((1u << (n - i)) - 1));
    a1 = _mm512_mask_add_ps(a1, m, a1, _mm512_maskz_loadu_ps(m, q + i));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

#define AMALGAM_AVX512POP __attribute__((target("avx512f,avx512vpopcntdq,popcnt")))

AMALGAM_AVX512POP uint32_t HammingAvx512(const uint64_t* a, const uint64_t* b, size_t words) {
  __m512i acc = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 8 <= words; i += 8) {
    __m512i x = _mm512_xor_si512(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i));
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, acc);
  uint32_t s = 0;
  for (uint64_t x : lanes) s += uint32_t(x);
  for (; i < words; ++i) s += uint32_t(_mm_popcnt_u64(a[i] ^ b[i]));
  return s;
}

const Kernels kScalar = {L2SqScalar, DotScalar, L2SqI8Scalar, DotI8Scalar, HammingScalar, MaskedSumScalar, "scalar"};
const Kernels kAvx2 = {L2SqAvx2, DotAvx2, L2SqI8Avx2, DotI8Avx2, HammingPopcnt, MaskedSumAvx2, "avx2"};
const Kernels kAvx512 = {L2SqAvx512, DotAvx512, L2SqI8Avx512, DotI8Avx512, HammingPopcnt, MaskedSumAvx512, "avx512"};
const Kernels kAvx512Pop = {L2SqAvx512, DotAvx512, L2SqI8Avx512, DotI8Avx512, HammingAvx512, MaskedSumAvx512, "avx512"};

bool HasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("popcnt");
}
bool HasAvx512() {
  __builtin_cpu_init();
  return HasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl");
}
bool HasAvx512Popcnt() { return HasAvx512() && __builtin_cpu_supports("avx512vpopcntdq"); }

const Kernels& Choose() {
  if (HasAvx512()) return HasAvx512Popcnt() ? kAvx512Pop : kAvx512;
  if (HasAvx2()) return kAvx2;
  return kScalar;
}

}  // namespace

const Kernels& Active() {
  static const Kernels& k = Choose();
  return k;
}
const Kernels& Scalar() { return kScalar; }
const Kernels* Avx2() { return HasAvx2() ? &kAvx2 : nullptr; }
const Kernels* Avx512() { return HasAvx512() ? (HasAvx512Popcnt() ? &kAvx512Pop : &kAvx512) : nullptr; }

}  // namespace amalgam::index::vecdist
