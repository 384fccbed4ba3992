// Type conversions: $convert and its shorthands $toInt $toLong $toDouble $toDecimal $toString
// $toObjectId $toDate $toBool, and $isNumber. Failures are ConversionFailure (241) with
// MongoDB's messages unless $convert supplies onError.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bson/number.h"
#include "query/expression_internal.h"

namespace amalgam::query::expr_internal {
namespace {

using bson::BsonType;

Status Failure(std::string msg) { return Status(ErrorCode::kConversionFailure, std::move(msg)); }

constexpr std::string_view kNoOnError = " in $convert with no onError value";

Status Unsupported(const bson::Value& v, std::string_view to) {
  return Failure("Unsupported conversion from " + TypeName(v) + " to " + std::string(to) +
                 std::string(kNoOnError));
}

// Target type of a conversion, by BSON type.
Result<BsonType> TargetType(const bson::Value& to) {
  if (to.type() == BsonType::kString) {
    BsonType t;
    if (!bson::TypeFromAlias(to.AsString(), &t)) {
      return Status(ErrorCode::kBadValue, "Unknown type name: " + std::string(to.AsString()));
    }
    return t;
  }
  if (to.IsNumber()) {
    int32_t code;
    if (!AsInt32Exact(to, &code)) {
      return Status(ErrorCode::kFailedToParse,
                    "In $convert, numeric 'to' argument is not an integer");
    }
    BsonType t = static_cast<BsonType>(code);
    BsonType back;
    if (!bson::TypeFromAlias(bson::TypeAlias(t), &back) || back != t) {
      return Status(ErrorCode::kFailedToParse,
                    "In $convert, numeric value for 'to' does not correspond to a BSON type: " +
                        std::to_string(code));
    }
    return t;
  }
  return Status(ErrorCode::kFailedToParse,
                "$convert's 'to' argument must be a string or number, but is " + TypeName(to));
}

Result<int64_t> ParseInteger(std::string_view s, bool is_long) {
  std::string_view what = is_long ? "long" : "int";
  int64_t v = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (!s.empty() && s[0] == '+') ++b;
  auto [p, ec] = std::from_chars(b, e, v);
  if (s.empty() || ec == std::errc::invalid_argument) {
    return Failure("Failed to parse number '" + std::string(s) + "'" + std::string(kNoOnError) +
                   ": No digits");
  }
  if (ec == std::errc::result_out_of_range || (!is_long && (v < INT32_MIN || v > INT32_MAX))) {
    return Failure("Failed to parse number '" + std::string(s) + "'" + std::string(kNoOnError) +
                   ": Out of range");
  }
  if (p != e) {
    return Failure("Failed to parse number '" + std::string(s) + "'" + std::string(kNoOnError) +
                   ": Did not consume whole string.");
  }
  (void)what;
  return v;
}

Result<double> ParseDouble(std::string_view s) {
  std::string z(s);
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(z.c_str(), &end);
  if (z.empty() || end != z.c_str() + z.size() || std::isspace(static_cast<unsigned char>(z[0]))) {
    return Failure("Failed to parse number '" + z + "'" + std::string(kNoOnError) +
                   ": Did not consume whole string.");
  }
  if (errno == ERANGE && std::isinf(d)) {
    return Failure("Failed to parse number '" + z + "'" + std::string(kNoOnError) + ": Out of range");
  }
  return d;
}

// A number (of any type) as an integer for $toInt/$toLong: truncated toward zero.
Result<int64_t> NumberToInteger(const bson::Value& v, bool is_long) {
  double d;
  if (v.type() == BsonType::kInt32) return v.AsInt32();
  if (v.type() == BsonType::kInt64) {
    int64_t x = v.AsInt64();
    if (!is_long && (x < INT32_MIN || x > INT32_MAX)) {
      return Failure("Conversion would overflow target type" + std::string(kNoOnError) + ": " + std::to_string(x));
    }
    return x;
  }
  if (v.type() == BsonType::kDecimal128) {
    bson::Decimal128Parts p = bson::DecodeDecimal128(v.AsDecimal128());
    if (p.kind == bson::Decimal128Parts::Kind::kNaN) {
      return Failure("Attempt to convert NaN value to integer type" + std::string(kNoOnError));
    }
    if (p.kind == bson::Decimal128Parts::Kind::kInfinity) {
      return Failure("Attempt to convert infinity value to integer type" + std::string(kNoOnError));
    }
    // Truncate the coefficient by the negative exponent.
    unsigned __int128 c = p.coefficient;
    int32_t e = p.exponent;
    while (e < 0 && c != 0) {
      c /= 10;
      ++e;
    }
    while (e > 0 && c != 0 && c < (static_cast<unsigned __int128>(1) << 100)) {
      c *= 10;
      --e;
    }
    unsigned __int128 limit = is_long ? static_cast<unsigned __int128>(INT64_MAX) : INT32_MAX;
    if ((e > 0 && c != 0) || c > limit + (p.negative ? 1 : 0)) {
      return Failure("Conversion would overflow target type" + std::string(kNoOnError) + ": " +
                     bson::Decimal128ToString(v.AsDecimal128()));
    }
    int64_t x = static_cast<int64_t>(c);
    return p.negative ? -x : x;
  }
  d = v.AsDouble();
  if (std::isnan(d)) return Failure("Attempt to convert NaN value to integer type" + std::string(kNoOnError));
  if (std::isinf(d)) return Failure("Attempt to convert infinity value to integer type" + std::string(kNoOnError));
  double t = std::trunc(d);
  double lo = is_long ? -9.2233720368547758e18 : static_cast<double>(INT32_MIN);
  double hi = is_long ? 9.2233720368547758e18 : static_cast<double>(INT32_MAX) + 1;
  if (t < lo || t >= hi) {
    return Failure("Conversion would overflow target type" + std::string(kNoOnError) + ": " + DoubleString(d));
  }
  return static_cast<int64_t>(t);
}

Result<ExprValue> DecimalOf(std::string_view text) {
  AMALGAM_ASSIGN_OR_RETURN(bson::Decimal128Bits bits, bson::ParseDecimal128(text));
  return Make([&](bson::Builder& b) { b.AppendDecimal128("", bits); });
}

// Converts `v` (not null or missing) to `to`.
Result<ExprValue> ConvertValue(const ExprValue& in, BsonType to) {
  const bson::Value& v = in.value();
  std::string_view to_name = bson::TypeAlias(to);
  if (v.type() == to) return in;
  switch (to) {
    case BsonType::kBool:
      switch (v.type()) {
        case BsonType::kInt32:
        case BsonType::kInt64:
        case BsonType::kDouble:
        case BsonType::kDecimal128: return MakeBool(IsTruthy(v));
        case BsonType::kString:
        case BsonType::kObjectId:
        case BsonType::kDate:
        case BsonType::kTimestamp:
        case BsonType::kDocument:
        case BsonType::kArray:
        case BsonType::kRegex:
        case BsonType::kBinary:
        case BsonType::kCode:
        case BsonType::kSymbol:
        case BsonType::kMinKey:
        case BsonType::kMaxKey: return MakeBool(true);
        default: return Unsupported(v, to_name);
      }
    case BsonType::kInt32:
    case BsonType::kInt64: {
      bool is_long = to == BsonType::kInt64;
      int64_t x;
      if (v.type() == BsonType::kBool) {
        x = v.AsBool() ? 1 : 0;
      } else if (v.IsNumber()) {
        AMALGAM_ASSIGN_OR_RETURN(x, NumberToInteger(v, is_long));
      } else if (v.type() == BsonType::kString) {
        AMALGAM_ASSIGN_OR_RETURN(x, ParseInteger(v.AsString(), is_long));
      } else if (v.type() == BsonType::kDate && is_long) {
        x = v.AsDateMillis();
      } else {
        return Unsupported(v, to_name);
      }
      return is_long ? MakeInt64(x) : MakeInt32(static_cast<int32_t>(x));
    }
    case BsonType::kDouble:
      if (v.type() == BsonType::kBool) return MakeDouble(v.AsBool() ? 1 : 0);
      if (v.type() == BsonType::kDate) return MakeDouble(static_cast<double>(v.AsDateMillis()));
      if (v.type() == BsonType::kInt64) return MakeDouble(static_cast<double>(v.AsInt64()));
      if (v.IsNumber()) {
        double d = v.NumberAsDouble();
        if (v.type() == BsonType::kDecimal128 && std::isinf(d)) {
          bson::Decimal128Parts p = bson::DecodeDecimal128(v.AsDecimal128());
          if (p.kind == bson::Decimal128Parts::Kind::kFinite) {
            return Failure("Conversion would overflow target type" + std::string(kNoOnError) + ": " +
                           bson::Decimal128ToString(v.AsDecimal128()));
          }
        }
        return MakeDouble(d);
      }
      if (v.type() == BsonType::kString) {
        AMALGAM_ASSIGN_OR_RETURN(double d, ParseDouble(v.AsString()));
        return MakeDouble(d);
      }
      return Unsupported(v, to_name);
    case BsonType::kDecimal128:
      switch (v.type()) {
        case BsonType::kBool: return DecimalOf(v.AsBool() ? "1" : "0");
        case BsonType::kInt32: return DecimalOf(std::to_string(v.AsInt32()));
        case BsonType::kInt64: return DecimalOf(std::to_string(v.AsInt64()));
        case BsonType::kDate: return DecimalOf(std::to_string(v.AsDateMillis()));
        case BsonType::kDouble: {
          double d = v.AsDouble();
          if (std::isnan(d)) return DecimalOf("NaN");
          if (std::isinf(d)) return DecimalOf(d > 0 ? "Infinity" : "-Infinity");
          char buf[40];
          std::snprintf(buf, sizeof(buf), "%.15g", d);  // MongoDB keeps 15 significant digits
          return DecimalOf(buf);
        }
        case BsonType::kString: {
          Result<bson::Decimal128Bits> bits = bson::ParseDecimal128(v.AsString());
          if (!bits.ok()) {
            return Failure("Failed to parse number '" + std::string(v.AsString()) + "'" +
                           std::string(kNoOnError) + ": Failed to parse string to decimal");
          }
          bson::Decimal128Bits d = *bits;
          return Make([&](bson::Builder& b) { b.AppendDecimal128("", d); });
        }
        default: return Unsupported(v, to_name);
      }
    case BsonType::kString:
      switch (v.type()) {
        case BsonType::kBool: return MakeString(v.AsBool() ? "true" : "false");
        case BsonType::kInt32: return MakeString(std::to_string(v.AsInt32()));
        case BsonType::kInt64: return MakeString(std::to_string(v.AsInt64()));
        case BsonType::kDouble: return MakeString(DoubleString(v.AsDouble()));
        case BsonType::kDecimal128: return MakeString(bson::Decimal128ToString(v.AsDecimal128()));
        case BsonType::kDate: return MakeString(IsoDateString(v.AsDateMillis()));
        case BsonType::kSymbol:
        case BsonType::kCode: return MakeString(v.AsString());
        case BsonType::kObjectId: {
          static constexpr char kHex[] = "0123456789abcdef";
          std::string hex;
          for (uint8_t byte : v.AsObjectId()) {
            hex.push_back(kHex[byte >> 4]);
            hex.push_back(kHex[byte & 15]);
          }
          return MakeString(hex);
        }
        default: return Unsupported(v, to_name);
      }
    case BsonType::kObjectId: {
      if (v.type() != BsonType::kString) return Unsupported(v, to_name);
      std::string_view s = v.AsString();
      if (s.size() != 24) {
        return Failure("Failed to parse objectId '" + std::string(s) + "'" + std::string(kNoOnError) +
                       ": Invalid string length for parsing to OID, expected 24 but found " +
                       std::to_string(s.size()));
      }
      uint8_t oid[12];
      for (size_t i = 0; i < 12; ++i) {
        int hi = std::isxdigit(static_cast<unsigned char>(s[2 * i])) ? std::stoi(std::string(1, s[2 * i]), nullptr, 16) : -1;
        int lo = std::isxdigit(static_cast<unsigned char>(s[2 * i + 1])) ? std::stoi(std::string(1, s[2 * i + 1]), nullptr, 16) : -1;
        if (hi < 0 || lo < 0) {
          return Failure("Failed to parse objectId '" + std::string(s) + "'" + std::string(kNoOnError) +
                         ": Invalid character found in hex string: " + std::string(1, s[2 * i + (hi < 0 ? 0 : 1)]));
        }
        oid[i] = static_cast<uint8_t>(hi * 16 + lo);
      }
      return Make([&](bson::Builder& b) { b.AppendObjectId("", std::span<const uint8_t, 12>(oid, 12)); });
    }
    case BsonType::kDate:
      switch (v.type()) {
        case BsonType::kInt64: return MakeDate(v.AsInt64());
        case BsonType::kDouble:
        case BsonType::kDecimal128: {
          double d = v.NumberAsDouble();
          if (std::isnan(d) || std::isinf(d) || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18) {
            return Failure("Conversion would overflow target type" + std::string(kNoOnError) + ": " +
                           Shown(v));
          }
          return MakeDate(static_cast<int64_t>(std::trunc(d)));
        }
        case BsonType::kString: {
          AMALGAM_ASSIGN_OR_RETURN(int64_t ms, ParseDateString(v.AsString(), 0, "$convert"));
          return MakeDate(ms);
        }
        case BsonType::kObjectId: {
          auto oid = v.AsObjectId();
          int64_t secs = (int64_t{oid[0]} << 24) | (int64_t{oid[1]} << 16) | (int64_t{oid[2]} << 8) | oid[3];
          return MakeDate(secs * 1000);
        }
        case BsonType::kTimestamp: return MakeDate(int64_t{v.AsTimestamp().seconds} * 1000);
        default: return Unsupported(v, to_name);
      }
    default: return Unsupported(v, to_name);
  }
}

class ConvertExpr final : public Expression {
 public:
  ConvertExpr(ExprPtr input, ExprPtr to, ExprPtr on_error, ExprPtr on_null)
      : input_(std::move(input)), to_(std::move(to)), on_error_(std::move(on_error)), on_null_(std::move(on_null)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue in, input_->Evaluate(ctx));
    AMALGAM_ASSIGN_OR_RETURN(ExprValue to, to_->Evaluate(ctx));
    if (in.nullish()) {
      if (on_null_) return on_null_->Evaluate(ctx);
      return MakeNull();
    }
    if (to.nullish()) return MakeNull();
    AMALGAM_ASSIGN_OR_RETURN(BsonType t, TargetType(to.value()));
    Result<ExprValue> out = ConvertValue(in, t);
    if (!out.ok() && out.status().code() == ErrorCode::kConversionFailure && on_error_) {
      return on_error_->Evaluate(ctx);
    }
    return out;
  }

 private:
  ExprPtr input_, to_, on_error_, on_null_;
};

Result<ExprPtr> ParseConvert(std::string_view, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  if (v.type() != BsonType::kDocument) {
    return Status(ErrorCode::kFailedToParse,
                  "$convert expects an object of named arguments but found: " + TypeName(v));
  }
  ExprPtr slots[4];
  static constexpr std::string_view kNames[4] = {"input", "to", "onError", "onNull"};
  for (const bson::Element& e : v.AsDocument()) {
    int which = -1;
    for (int i = 0; i < 4; ++i) {
      if (kNames[i] == e.name) which = i;
    }
    if (which < 0) {
      return Status(ErrorCode::kFailedToParse, "$convert found an unknown argument: " + std::string(e.name));
    }
    AMALGAM_ASSIGN_OR_RETURN(slots[which], Expression::Parse(e.value, ctx, depth + 1));
  }
  if (!slots[0]) return Status(ErrorCode::kFailedToParse, "Missing 'input' parameter to $convert");
  if (!slots[1]) return Status(ErrorCode::kFailedToParse, "Missing 'to' parameter to $convert");
  return ExprPtr(std::make_unique<ConvertExpr>(std::move(slots[0]), std::move(slots[1]),
                                               std::move(slots[2]), std::move(slots[3])));
}

template <BsonType kTo>
Result<ExprValue> ToFn(const std::vector<ExprValue>& a) {
  if (a[0].nullish()) return MakeNull();
  return ConvertValue(a[0], kTo);
}

Result<ExprValue> IsNumberFn(const std::vector<ExprValue>& a) { return MakeBool(a[0].value().IsNumber()); }

constexpr OperatorRow kRows[] = {
    {"$convert", ParseConvert},
    {"$toInt", ParseNary<ToFn<BsonType::kInt32>, 1, 1>},
    {"$toLong", ParseNary<ToFn<BsonType::kInt64>, 1, 1>},
    {"$toDouble", ParseNary<ToFn<BsonType::kDouble>, 1, 1>},
    {"$toDecimal", ParseNary<ToFn<BsonType::kDecimal128>, 1, 1>},
    {"$toString", ParseNary<ToFn<BsonType::kString>, 1, 1>},
    {"$toObjectId", ParseNary<ToFn<BsonType::kObjectId>, 1, 1>},
    {"$toDate", ParseNary<ToFn<BsonType::kDate>, 1, 1>},
    {"$toBool", ParseNary<ToFn<BsonType::kBool>, 1, 1>},
    {"$isNumber", ParseNary<IsNumberFn, 1, 1>},
};

}  // namespace

std::string DoubleString(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, p);
}

std::span<const OperatorRow> ConvertOperators() { return kRows; }

}  // namespace amalgam::query::expr_internal
