#pragma once
// Exact arithmetic-free handling of BSON numbers: every int32, int64, double and decimal128 has
// a finite decimal expansion, so all of them map exactly onto ExactNumber, which orders the way
// MongoDB orders numbers (by value across types; NaN below -Infinity; -0 == 0).

#include <cstdint>
#include <string>
#include <string_view>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::bson {

struct ExactNumber {
  // Persisted through the key encoding's class byte: keep this order.
  enum class Kind : uint8_t { kNaN, kNegInfinity, kNegative, kZero, kPositive, kPosInfinity };
  Kind kind = Kind::kZero;
  // For kNegative/kPositive: |value| = 0.d1d2d3... x 10^exponent, d1 != '0', no trailing '0'.
  int32_t exponent = 0;
  std::string digits;
};

ExactNumber ExactFromInt64(int64_t v);
ExactNumber ExactFromDouble(double v);
ExactNumber ExactFromDecimal128(Decimal128Bits v);
// REQUIRES: v.IsNumber().
ExactNumber ExactFromValue(const Value& v);

// <0, 0, >0 by numeric value.
int CompareExact(const ExactNumber& a, const ExactNumber& b);
// MongoDB's numeric comparison of two numeric values of any types. REQUIRES: both IsNumber().
int CompareNumbers(const Value& a, const Value& b);

// Inverse conversions, used when decoding keys. Each returns false if the exact value is not
// representable in the target type (decimal128: more than 34 digits or exponent out of range).
bool ExactToInt64(const ExactNumber& n, int64_t* out);
bool ExactToDouble(const ExactNumber& n, double* out);
// `exponent` is the decimal128 quantum (unbiased) to rebuild: the coefficient is the digits
// padded with zeros to that quantum.
bool ExactToDecimal128(const ExactNumber& n, int32_t quantum, bool negative_zero, Decimal128Bits* out);

// The parts of a decimal128 (IEEE 754-2008 BID encoding).
struct Decimal128Parts {
  enum class Kind : uint8_t { kFinite, kInfinity, kNaN };
  Kind kind = Kind::kFinite;
  bool negative = false;
  unsigned __int128 coefficient = 0;  // < 10^34 (non-canonical encodings read as 0)
  int32_t exponent = 0;               // unbiased, -6176..6111
};
Decimal128Parts DecodeDecimal128(Decimal128Bits v);
Decimal128Bits EncodeDecimal128(const Decimal128Parts& parts);

// Decimal128 <-> text, in MongoDB's format ("1.5", "1E+3", "NaN", "-Infinity").
Result<Decimal128Bits> ParseDecimal128(std::string_view text);
std::string Decimal128ToString(Decimal128Bits v);

}  // namespace amalgam::bson
