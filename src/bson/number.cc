#include "bson/number.h"

#include <bson/bson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace amalgam::bson {
namespace {

using u128 = unsigned __int128;

// Little-endian base-2^32 unsigned big integer, just enough to expand a double exactly.
class BigUint {
 public:
  explicit BigUint(uint64_t v) {
    limbs_.push_back(static_cast<uint32_t>(v));
    limbs_.push_back(static_cast<uint32_t>(v >> 32));
    Trim();
  }
  void MulSmall(uint32_t m) {
    uint64_t carry = 0;
    for (uint32_t& limb : limbs_) {
      uint64_t t = static_cast<uint64_t>(limb) * m + carry;
      limb = static_cast<uint32_t>(t);
      carry = t >> 32;
    }
    if (carry) limbs_.push_back(static_cast<uint32_t>(carry));
  }
  void ShiftLeft(int bits) {
    int words = bits / 32, rem = bits % 32;
    if (rem) {
      uint32_t carry = 0;
      for (uint32_t& limb : limbs_) {
        uint32_t next = limb >> (32 - rem);
        limb = (limb << rem) | carry;
        carry = next;
      }
      if (carry) limbs_.push_back(carry);
    }
    limbs_.insert(limbs_.begin(), static_cast<size_t>(words), 0u);
  }
  std::string ToDecimal() const {
    std::vector<uint32_t> n = limbs_;
    std::vector<uint32_t> chunks;  // base 1e9, least significant first
    while (!(n.empty())) {
      uint64_t rem = 0;
      for (size_t i = n.size(); i-- > 0;) {
        uint64_t cur = (rem << 32) | n[i];
        n[i] = static_cast<uint32_t>(cur / 1000000000u);
        rem = cur % 1000000000u;
      }
      chunks.push_back(static_cast<uint32_t>(rem));
      while (!n.empty() && n.back() == 0) n.pop_back();
    }
    std::string out;
    char buf[16];
    for (size_t i = chunks.size(); i-- > 0;) {
      std::snprintf(buf, sizeof(buf), i + 1 == chunks.size() ? "%u" : "%09u", chunks[i]);
      out += buf;
    }
    return out.empty() ? "0" : out;
  }

 private:
  void Trim() {
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
  }
  std::vector<uint32_t> limbs_;
};

std::string U128ToDecimal(u128 v) {
  if (v == 0) return "0";
  char buf[48];
  int i = 48;
  while (v) {
    buf[--i] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  }
  return std::string(buf + i, 48 - i);
}

// Builds a finite non-zero ExactNumber from an integer digit string D and a power of ten p:
// value = D x 10^p.
ExactNumber FromDigits(bool negative, std::string digits, int32_t pow10) {
  ExactNumber n;
  n.kind = negative ? ExactNumber::Kind::kNegative : ExactNumber::Kind::kPositive;
  n.exponent = static_cast<int32_t>(digits.size()) + pow10;
  size_t last = digits.find_last_not_of('0');
  digits.resize(last + 1);
  n.digits = std::move(digits);
  return n;
}

ExactNumber Special(ExactNumber::Kind kind) {
  ExactNumber n;
  n.kind = kind;
  return n;
}

int CompareInt64Double(int64_t i, double d) {
  if (std::isnan(d)) return 1;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  double t = std::trunc(d);
  int64_t ti = static_cast<int64_t>(t);
  if (i < ti) return -1;
  if (i > ti) return 1;
  double frac = d - t;
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

int CompareDoubles(double a, double b) {
  bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) return an && bn ? 0 : (an ? -1 : 1);
  return a < b ? -1 : (a > b ? 1 : 0);
}

int64_t AsInt64Any(const Value& v) {
  return v.type() == BsonType::kInt32 ? v.AsInt32() : v.AsInt64();
}

}  // namespace

ExactNumber ExactFromInt64(int64_t v) {
  if (v == 0) return Special(ExactNumber::Kind::kZero);
  bool neg = v < 0;
  uint64_t mag = neg ? (~static_cast<uint64_t>(v) + 1) : static_cast<uint64_t>(v);
  return FromDigits(neg, U128ToDecimal(mag), 0);
}

ExactNumber ExactFromDouble(double v) {
  if (std::isnan(v)) return Special(ExactNumber::Kind::kNaN);
  if (std::isinf(v)) return Special(v < 0 ? ExactNumber::Kind::kNegInfinity : ExactNumber::Kind::kPosInfinity);
  if (v == 0) return Special(ExactNumber::Kind::kZero);
  bool neg = std::signbit(v);
  double mag = std::fabs(v);
  // Fast path: integers below 2^63.
  if (mag < 9223372036854775808.0 && std::trunc(mag) == mag) {
    return FromDigits(neg, U128ToDecimal(static_cast<uint64_t>(mag)), 0);
  }
  uint64_t bits;
  std::memcpy(&bits, &mag, 8);
  int biased = static_cast<int>(bits >> 52);
  uint64_t m = bits & ((uint64_t{1} << 52) - 1);
  int e2;
  if (biased == 0) {
    e2 = -1074;  // subnormal
  } else {
    m |= uint64_t{1} << 52;
    e2 = biased - 1075;
  }
  while (e2 < 0 && (m & 1) == 0) {
    m >>= 1;
    ++e2;
  }
  BigUint big(m);
  if (e2 >= 0) {
    big.ShiftLeft(e2);
    return FromDigits(neg, big.ToDecimal(), 0);
  }
  for (int k = 0; k < -e2; ++k) big.MulSmall(5);  // m * 5^k / 10^k
  return FromDigits(neg, big.ToDecimal(), e2);
}

Decimal128Parts DecodeDecimal128(Decimal128Bits v) {
  Decimal128Parts p;
  p.negative = (v.high >> 63) != 0;
  uint64_t comb = (v.high >> 58) & 0x1F;
  if (comb == 0x1F) {
    p.kind = Decimal128Parts::Kind::kNaN;
    return p;
  }
  if (comb == 0x1E) {
    p.kind = Decimal128Parts::Kind::kInfinity;
    return p;
  }
  if (((v.high >> 61) & 0x3) == 0x3) {
    // Large-coefficient form: coefficient >= 2^113 > 10^34 - 1, non-canonical: reads as zero.
    p.exponent = static_cast<int32_t>((v.high >> 47) & 0x3FFF) - 6176;
    p.coefficient = 0;
    return p;
  }
  p.exponent = static_cast<int32_t>((v.high >> 49) & 0x3FFF) - 6176;
  u128 c = (static_cast<u128>(v.high & ((uint64_t{1} << 49) - 1)) << 64) | v.low;
  static const u128 kMax = static_cast<u128>(1000000000000000000ULL) * 10000000000000000ULL;  // 10^34
  p.coefficient = c >= kMax ? 0 : c;
  return p;
}

Decimal128Bits EncodeDecimal128(const Decimal128Parts& p) {
  Decimal128Bits v{0, 0};
  uint64_t sign = p.negative ? (uint64_t{1} << 63) : 0;
  if (p.kind == Decimal128Parts::Kind::kNaN) {
    v.high = sign | (uint64_t{0x1F} << 58);
    return v;
  }
  if (p.kind == Decimal128Parts::Kind::kInfinity) {
    v.high = sign | (uint64_t{0x1E} << 58);
    return v;
  }
  uint64_t biased = static_cast<uint64_t>(p.exponent + 6176) & 0x3FFF;
  v.low = static_cast<uint64_t>(p.coefficient);
  v.high = sign | (biased << 49) | static_cast<uint64_t>(p.coefficient >> 64);
  return v;
}

ExactNumber ExactFromDecimal128(Decimal128Bits v) {
  Decimal128Parts p = DecodeDecimal128(v);
  if (p.kind == Decimal128Parts::Kind::kNaN) return Special(ExactNumber::Kind::kNaN);
  if (p.kind == Decimal128Parts::Kind::kInfinity) {
    return Special(p.negative ? ExactNumber::Kind::kNegInfinity : ExactNumber::Kind::kPosInfinity);
  }
  if (p.coefficient == 0) return Special(ExactNumber::Kind::kZero);
  return FromDigits(p.negative, U128ToDecimal(p.coefficient), p.exponent);
}

ExactNumber ExactFromValue(const Value& v) {
  switch (v.type()) {
    case BsonType::kInt32: return ExactFromInt64(v.AsInt32());
    case BsonType::kInt64: return ExactFromInt64(v.AsInt64());
    case BsonType::kDouble: return ExactFromDouble(v.AsDouble());
    case BsonType::kDecimal128: return ExactFromDecimal128(v.AsDecimal128());
    default: return Special(ExactNumber::Kind::kZero);
  }
}

int CompareExact(const ExactNumber& a, const ExactNumber& b) {
  if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.kind != ExactNumber::Kind::kPositive && a.kind != ExactNumber::Kind::kNegative) return 0;
  int c;
  if (a.exponent != b.exponent) {
    c = a.exponent < b.exponent ? -1 : 1;
  } else {
    int d = a.digits.compare(b.digits);
    c = d < 0 ? -1 : (d > 0 ? 1 : 0);
  }
  return a.kind == ExactNumber::Kind::kNegative ? -c : c;
}

int CompareNumbers(const Value& a, const Value& b) {
  BsonType ta = a.type(), tb = b.type();
  bool ai = ta == BsonType::kInt32 || ta == BsonType::kInt64;
  bool bi = tb == BsonType::kInt32 || tb == BsonType::kInt64;
  if (ai && bi) {
    int64_t x = AsInt64Any(a), y = AsInt64Any(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (ta == BsonType::kDouble && tb == BsonType::kDouble) return CompareDoubles(a.AsDouble(), b.AsDouble());
  if (ai && tb == BsonType::kDouble) return CompareInt64Double(AsInt64Any(a), b.AsDouble());
  if (ta == BsonType::kDouble && bi) return -CompareInt64Double(AsInt64Any(b), a.AsDouble());
  return CompareExact(ExactFromValue(a), ExactFromValue(b));
}

bool ExactToInt64(const ExactNumber& n, int64_t* out) {
  if (n.kind == ExactNumber::Kind::kZero) {
    *out = 0;
    return true;
  }
  if (n.kind != ExactNumber::Kind::kPositive && n.kind != ExactNumber::Kind::kNegative) return false;
  if (n.exponent < static_cast<int32_t>(n.digits.size()) || n.exponent > 19) return false;
  u128 mag = 0;
  for (int32_t i = 0; i < n.exponent; ++i) {
    mag = mag * 10 + (i < static_cast<int32_t>(n.digits.size()) ? n.digits[i] - '0' : 0);
  }
  bool neg = n.kind == ExactNumber::Kind::kNegative;
  if (!neg && mag > static_cast<u128>(INT64_MAX)) return false;
  if (neg && mag > static_cast<u128>(INT64_MAX) + 1) return false;
  *out = neg ? static_cast<int64_t>(~static_cast<uint64_t>(mag) + 1) : static_cast<int64_t>(mag);
  return true;
}

bool ExactToDouble(const ExactNumber& n, double* out) {
  switch (n.kind) {
    case ExactNumber::Kind::kNaN: *out = std::nan(""); return true;
    case ExactNumber::Kind::kNegInfinity: *out = -INFINITY; return true;
    case ExactNumber::Kind::kPosInfinity: *out = INFINITY; return true;
    case ExactNumber::Kind::kZero: *out = 0.0; return true;
    default: break;
  }
  std::string text = n.kind == ExactNumber::Kind::kNegative ? "-0." : "0.";
  text += n.digits;
  text += "e";
  text += std::to_string(n.exponent);
  *out = std::strtod(text.c_str(), nullptr);  // correctly rounded; exact for a double's digits
  return true;
}

bool ExactToDecimal128(const ExactNumber& n, int32_t quantum, bool negative_zero, Decimal128Bits* out) {
  Decimal128Parts p;
  switch (n.kind) {
    case ExactNumber::Kind::kNaN: p.kind = Decimal128Parts::Kind::kNaN; break;
    case ExactNumber::Kind::kNegInfinity: p.kind = Decimal128Parts::Kind::kInfinity; p.negative = true; break;
    case ExactNumber::Kind::kPosInfinity: p.kind = Decimal128Parts::Kind::kInfinity; break;
    case ExactNumber::Kind::kZero:
      p.negative = negative_zero;
      p.exponent = quantum;
      break;
    default: {
      // value = digits x 10^(exponent - len); with quantum q the coefficient is
      // digits x 10^(exponent - len - q), which must be a whole number below 10^34.
      int32_t shift = n.exponent - static_cast<int32_t>(n.digits.size()) - quantum;
      if (shift < 0 || static_cast<int32_t>(n.digits.size()) + shift > 34) return false;
      u128 c = 0;
      for (char d : n.digits) c = c * 10 + static_cast<u128>(d - '0');
      for (int32_t i = 0; i < shift; ++i) c *= 10;
      p.coefficient = c;
      p.exponent = quantum;
      p.negative = n.kind == ExactNumber::Kind::kNegative;
    }
  }
  if (p.exponent < -6176 || p.exponent > 6111) return false;
  *out = EncodeDecimal128(p);
  return true;
}

Result<Decimal128Bits> ParseDecimal128(std::string_view text) {
  bson_decimal128_t dec;
  std::string s(text);
  if (!bson_decimal128_from_string(s.c_str(), &dec)) {
    return Status(ErrorCode::kFailedToParse, "'" + s + "' is not a valid decimal128 number");
  }
  Decimal128Bits bits{dec.low, dec.high};
  Decimal128Parts parts = DecodeDecimal128(bits);
  // libbson returns NaN for text it cannot read; only accept NaN when the text says so.
  if (parts.kind == Decimal128Parts::Kind::kNaN) {
    std::string lower;
    for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != "nan" && lower != "-nan" && lower != "+nan") {
      return Status(ErrorCode::kFailedToParse, "'" + s + "' is not a valid decimal128 number");
    }
  }
  return bits;
}

std::string Decimal128ToString(Decimal128Bits v) {
  bson_decimal128_t dec;
  dec.low = v.low;
  dec.high = v.high;
  char buf[BSON_DECIMAL128_STRING];
  bson_decimal128_to_string(&dec, buf);
  return buf;
}

double Value::NumberAsDouble() const {
  switch (type_) {
    case BsonType::kInt32: return AsInt32();
    case BsonType::kInt64: return static_cast<double>(AsInt64());
    case BsonType::kDouble: return AsDouble();
    case BsonType::kDecimal128: {
      double d;
      ExactToDouble(ExactFromDecimal128(AsDecimal128()), &d);
      return d;
    }
    default: return 0;
  }
}

}  // namespace amalgam::bson
