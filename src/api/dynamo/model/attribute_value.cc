#include "api/dynamo/model/attribute_value.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace amalgam::dynamo {
namespace {

constexpr int kMaxDigits = 38;
// Allowed: 1e-130 <= |x| < 1e126. With x = 0.d1d2... x 10^exp, exp ranges over -129..126.
constexpr int32_t kMinExp = -129;
constexpr int32_t kMaxExp = 126;

const char* const kTypeNames[] = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"};

// |value| = 0.digits x 10^exp; digits has no leading or trailing '0'; empty means zero.
struct Dec {
  bool neg = false;
  std::string digits;
  int32_t exp = 0;
};

Status NumberError(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status Overflow() {
  return NumberError(
      "Number overflow. Attempting to store a number with magnitude larger than supported range");
}
Status Underflow() {
  return NumberError(
      "Number underflow. Attempting to store a number with magnitude smaller than supported "
      "range");
}

void Normalize(Dec* d) {
  size_t lead = 0;
  while (lead < d->digits.size() && d->digits[lead] == '0') ++lead;
  d->digits.erase(0, lead);
  d->exp -= static_cast<int32_t>(lead);
  while (!d->digits.empty() && d->digits.back() == '0') d->digits.pop_back();
  if (d->digits.empty()) {
    d->neg = false;
    d->exp = 0;
  }
}

// Parses the syntax only; exponent saturates far outside the allowed range.
bool ParseDec(std::string_view s, Dec* out) {
  size_t i = 0;
  Dec d;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) d.neg = s[i++] == '-';
  int64_t int_digits = 0;
  bool any = false, dot = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      any = true;
      d.digits.push_back(c);
      if (!dot) ++int_digits;
      if (d.digits.size() > 100000) return false;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any) return false;
  int64_t e = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
    bool edigits = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      edigits = true;
      if (e < 1000000000) e = e * 10 + (s[i] - '0');
    }
    if (!edigits) return false;
    if (eneg) e = -e;
  }
  if (i != s.size()) return false;
  int64_t exp = int_digits + e;
  exp = std::clamp<int64_t>(exp, -2000000000, 2000000000);
  d.exp = static_cast<int32_t>(exp);
  Normalize(&d);
  *out = std::move(d);
  return true;
}

Status CheckRange(const Dec& d, bool precision_is_overflow) {
  if (d.digits.empty()) return Status::OK();
  if (d.exp > kMaxExp) return Overflow();
  if (d.exp < kMinExp) return Underflow();
  if (static_cast<int>(d.digits.size()) > kMaxDigits) {
    if (precision_is_overflow) return Overflow();
    return NumberError("Attempting to store more than 38 significant digits in a Number");
  }
  return Status::OK();
}

std::string Format(const Dec& d) {
  if (d.digits.empty()) return "0";
  std::string out;
  if (d.neg) out.push_back('-');
  int32_t n = static_cast<int32_t>(d.digits.size());
  if (d.exp <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-d.exp), '0');
    out += d.digits;
  } else if (d.exp >= n) {
    out += d.digits;
    out.append(static_cast<size_t>(d.exp - n), '0');
  } else {
    out.append(d.digits, 0, static_cast<size_t>(d.exp));
    out.push_back('.');
    out.append(d.digits, static_cast<size_t>(d.exp), std::string::npos);
  }
  return out;
}

// Canonical text is valid syntax by construction.
Dec FromCanonical(std::string_view s) {
  Dec d;
  bool ok = ParseDec(s, &d);
  (void)ok;
  return d;
}

int CompareMagnitude(const Dec& a, const Dec& b) {
  if (a.digits.empty() || b.digits.empty()) {
    return static_cast<int>(!a.digits.empty()) - static_cast<int>(!b.digits.empty());
  }
  if (a.exp != b.exp) return a.exp < b.exp ? -1 : 1;
  int c = a.digits.compare(b.digits);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int CompareDec(const Dec& a, const Dec& b) {
  int sa = a.digits.empty() ? 0 : (a.neg ? -1 : 1);
  int sb = b.digits.empty() ? 0 : (b.neg ? -1 : 1);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  int m = CompareMagnitude(a, b);
  return sa > 0 ? m : -m;
}

// Integer coefficient of d scaled so that value = coef x 10^scale.
std::string Coefficient(const Dec& d, int32_t scale) {
  std::string c = d.digits;
  int32_t own_scale = d.exp - static_cast<int32_t>(d.digits.size());
  c.append(static_cast<size_t>(own_scale - scale), '0');
  return c;
}

// Decimal digit strings (most significant first), a >= b for Sub.
std::string AddDigits(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  size_t i = a.size(), j = b.size();
  while (i > 0 || j > 0 || carry) {
    int s = carry + (i > 0 ? a[--i] - '0' : 0) + (j > 0 ? b[--j] - '0' : 0);
    out.push_back(static_cast<char>('0' + s % 10));
    carry = s / 10;
  }
  std::reverse(out.begin(), out.end());
  return out;
}
std::string SubDigits(const std::string& a, const std::string& b) {
  std::string out;
  int borrow = 0;
  size_t i = a.size(), j = b.size();
  while (i > 0) {
    int s = (a[--i] - '0') - borrow - (j > 0 ? b[--j] - '0' : 0);
    borrow = s < 0;
    if (s < 0) s += 10;
    out.push_back(static_cast<char>('0' + s));
  }
  std::reverse(out.begin(), out.end());
  return out;
}
int CompareDigitStrings(const std::string& a, const std::string& b) {
  size_t la = a.find_first_not_of('0'), lb = b.find_first_not_of('0');
  std::string_view x = la == std::string::npos ? "" : std::string_view(a).substr(la);
  std::string_view y = lb == std::string::npos ? "" : std::string_view(b).substr(lb);
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  int c = x.compare(y);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

Result<std::string> AddDec(Dec a, Dec b) {
  if (a.digits.empty()) return Format(b);
  if (b.digits.empty()) return Format(a);
  int32_t sa = a.exp - static_cast<int32_t>(a.digits.size());
  int32_t sb = b.exp - static_cast<int32_t>(b.digits.size());
  int32_t scale = std::min(sa, sb);
  std::string ca = Coefficient(a, scale), cb = Coefficient(b, scale);
  Dec r;
  if (a.neg == b.neg) {
    r.digits = AddDigits(ca, cb);
    r.neg = a.neg;
  } else {
    int c = CompareDigitStrings(ca, cb);
    if (c == 0) return std::string("0");
    if (c > 0) {
      r.digits = SubDigits(ca, cb);
      r.neg = a.neg;
    } else {
      r.digits = SubDigits(cb, ca);
      r.neg = b.neg;
    }
  }
  r.exp = scale + static_cast<int32_t>(r.digits.size());
  Normalize(&r);
  AMALGAM_RETURN_IF_ERROR(CheckRange(r, /*precision_is_overflow=*/true));
  return Format(r);
}

bool SetsEqual(std::vector<std::string> a, std::vector<std::string> b) {
  if (a.size() != b.size()) return false;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

void Quote(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void Debug(const AttributeValue& v, std::string* out) {
  out->push_back('{');
  Quote(AttrTypeName(v.type), out);
  out->push_back(':');
  switch (v.type) {
    case AttrType::kS:
    case AttrType::kN:
      Quote(v.scalar, out);
      break;
    case AttrType::kB: {
      static const char* hex = "0123456789abcdef";
      std::string h;
      for (unsigned char c : v.scalar) {
        h.push_back(hex[c >> 4]);
        h.push_back(hex[c & 15]);
      }
      Quote("0x" + h, out);
      break;
    }
    case AttrType::kBool:
      *out += v.boolean ? "true" : "false";
      break;
    case AttrType::kNull:
      *out += "true";
      break;
    case AttrType::kSS:
    case AttrType::kNS:
    case AttrType::kBS: {
      out->push_back('[');
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i) out->push_back(',');
        Quote(v.members[i], out);
      }
      out->push_back(']');
      break;
    }
    case AttrType::kL:
      out->push_back('[');
      for (size_t i = 0; i < v.list.size(); ++i) {
        if (i) out->push_back(',');
        Debug(v.list[i], out);
      }
      out->push_back(']');
      break;
    case AttrType::kM:
      *out += DebugString(v.map);
      break;
  }
  out->push_back('}');
}

}  // namespace

std::string_view AttrTypeName(AttrType t) { return kTypeNames[static_cast<int>(t)]; }

bool AttrTypeFromName(std::string_view name, AttrType* out) {
  for (int i = 0; i < 10; ++i) {
    if (name == kTypeNames[i]) {
      *out = static_cast<AttrType>(i);
      return true;
    }
  }
  return false;
}

AttrType SetElementType(AttrType set_type) {
  switch (set_type) {
    case AttrType::kSS: return AttrType::kS;
    case AttrType::kNS: return AttrType::kN;
    case AttrType::kBS: return AttrType::kB;
    default: return set_type;
  }
}

AttrType SetTypeOf(AttrType scalar_type) {
  switch (scalar_type) {
    case AttrType::kS: return AttrType::kSS;
    case AttrType::kN: return AttrType::kNS;
    case AttrType::kB: return AttrType::kBS;
    default: return scalar_type;
  }
}

AttributeValue AttributeValue::S(std::string s) {
  AttributeValue v;
  v.type = AttrType::kS;
  v.scalar = std::move(s);
  return v;
}
AttributeValue AttributeValue::N(std::string canonical) {
  AttributeValue v;
  v.type = AttrType::kN;
  v.scalar = std::move(canonical);
  return v;
}
AttributeValue AttributeValue::B(std::string bytes) {
  AttributeValue v;
  v.type = AttrType::kB;
  v.scalar = std::move(bytes);
  return v;
}
AttributeValue AttributeValue::Bool(bool b) {
  AttributeValue v;
  v.type = AttrType::kBool;
  v.boolean = b;
  return v;
}
AttributeValue AttributeValue::Null() { return AttributeValue(); }
AttributeValue AttributeValue::M(AttributeMap m) {
  AttributeValue v;
  v.type = AttrType::kM;
  v.map = std::move(m);
  return v;
}
AttributeValue AttributeValue::L(AttributeList l) {
  AttributeValue v;
  v.type = AttrType::kL;
  v.list = std::move(l);
  return v;
}
AttributeValue AttributeValue::SS(std::vector<std::string> m) {
  AttributeValue v;
  v.type = AttrType::kSS;
  v.members = std::move(m);
  return v;
}
AttributeValue AttributeValue::NS(std::vector<std::string> m) {
  AttributeValue v;
  v.type = AttrType::kNS;
  v.members = std::move(m);
  return v;
}
AttributeValue AttributeValue::BS(std::vector<std::string> m) {
  AttributeValue v;
  v.type = AttrType::kBS;
  v.members = std::move(m);
  return v;
}

bool operator==(const AttributeValue& a, const AttributeValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case AttrType::kS:
    case AttrType::kB:
      return a.scalar == b.scalar;
    case AttrType::kN:
      return CompareNumbers(a.scalar, b.scalar) == 0;
    case AttrType::kBool:
      return a.boolean == b.boolean;
    case AttrType::kNull:
      return true;
    case AttrType::kM:
      return a.map == b.map;
    case AttrType::kL:
      return a.list == b.list;
    case AttrType::kSS:
    case AttrType::kBS:
    case AttrType::kNS:  // members are canonical, so text equality is value equality
      return SetsEqual(a.members, b.members);
  }
  return false;
}

Result<std::string> CanonicalizeNumber(std::string_view text) {
  Dec d;
  if (text.empty()) {
    return NumberError("The parameter cannot be converted to a numeric value");
  }
  if (!ParseDec(text, &d)) {
    return NumberError("The parameter cannot be converted to a numeric value: " + std::string(text));
  }
  AMALGAM_RETURN_IF_ERROR(CheckRange(d, /*precision_is_overflow=*/false));
  return Format(d);
}

int CompareNumbers(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  return CompareDec(FromCanonical(a), FromCanonical(b));
}

Result<std::string> AddNumbers(std::string_view a, std::string_view b) {
  return AddDec(FromCanonical(a), FromCanonical(b));
}

Result<std::string> SubtractNumbers(std::string_view a, std::string_view b) {
  Dec nb = FromCanonical(b);
  if (!nb.digits.empty()) nb.neg = !nb.neg;
  return AddDec(FromCanonical(a), std::move(nb));
}

int SignificantDigits(std::string_view canonical) {
  return static_cast<int>(FromCanonical(canonical).digits.size());
}

// DynamoDB stores a number as base-100 digit pairs aligned on the decimal point (as Oracle's
// NUMBER does): the size is 1 byte plus one per pair after dropping leading and trailing zero
// pairs, plus 1 for a negative number. Captures against DynamoDB agree: 123456 costs 4 bytes,
// 3.14159 costs 5 (the digits straddling the point fill two pairs), 1E125 costs 2.
size_t NumberSize(std::string_view canonical) {
  bool neg = !canonical.empty() && canonical[0] == '-';
  if (neg) canonical.remove_prefix(1);
  size_t dot = canonical.find('.');
  std::string_view int_part = canonical.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? "" : canonical.substr(dot + 1);
  if (int_part == "0") int_part = "";
  std::string digits;
  if (int_part.size() % 2) digits.push_back('0');
  digits.append(int_part);
  digits.append(frac_part);
  if (frac_part.size() % 2) digits.push_back('0');
  size_t first = 0, last = digits.size() / 2;  // pair range [first, last)
  while (first < last && digits.compare(first * 2, 2, "00") == 0) ++first;
  while (last > first && digits.compare((last - 1) * 2, 2, "00") == 0) --last;
  if (first == last) return 1;  // zero
  return 1 + (last - first) + (neg ? 1 : 0);
}

size_t AttributeValueSize(const AttributeValue& v) {
  switch (v.type) {
    case AttrType::kS:
    case AttrType::kB:
      return v.scalar.size();
    case AttrType::kN:
      return NumberSize(v.scalar);
    case AttrType::kBool:
    case AttrType::kNull:
      return 1;
    case AttrType::kSS:
    case AttrType::kBS: {
      size_t n = 0;
      for (const auto& m : v.members) n += m.size();
      return n;
    }
    case AttrType::kNS: {
      size_t n = 0;
      for (const auto& m : v.members) n += NumberSize(m);
      return n;
    }
    case AttrType::kL: {
      size_t n = 3;
      for (const auto& e : v.list) n += 1 + AttributeValueSize(e);
      return n;
    }
    case AttrType::kM: {
      size_t n = 3;
      for (const auto& [k, e] : v.map) n += 1 + k.size() + AttributeValueSize(e);
      return n;
    }
  }
  return 0;
}

size_t ItemSize(const Item& item) {
  size_t n = 0;
  for (const auto& [k, v] : item) n += k.size() + AttributeValueSize(v);
  return n;
}

int NestingDepth(const AttributeValue& v) {
  int d = 0;
  if (v.type == AttrType::kL) {
    for (const auto& e : v.list) d = std::max(d, NestingDepth(e));
    return d + 1;
  }
  if (v.type == AttrType::kM) {
    for (const auto& [k, e] : v.map) d = std::max(d, NestingDepth(e));
    return d + 1;
  }
  return 0;
}

std::string DebugString(const AttributeValue& v) {
  std::string out;
  Debug(v, &out);
  return out;
}

std::string DebugString(const Item& item) {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : item) {
    if (!first) out.push_back(',');
    first = false;
    Quote(k, &out);
    out.push_back(':');
    Debug(v, &out);
  }
  out.push_back('}');
  return out;
}

Status CheckVectorValue(const AttributeValue& v, std::string_view attr, uint32_t dims, std::string_view index_name) {
  const std::string prefix = "One or more parameter values were invalid: ";
  const std::string suffix = ". IndexName: " + std::string(index_name);
  if (v.type != AttrType::kL) {
    return Status(ErrorCode::kBadValue, prefix + "Invalid type for vector attribute " + std::string(attr) +
                                            ": expected a list (L) of numbers, got " +
                                            std::string(AttrTypeName(v.type)) + suffix);
  }
  if (v.list.size() != dims) {
    return Status(ErrorCode::kBadValue, prefix + "Vector attribute " + std::string(attr) + " has " +
                                            std::to_string(v.list.size()) + " dimensions but vector index " +
                                            std::string(index_name) + " has " + std::to_string(dims));
  }
  for (size_t i = 0; i < v.list.size(); ++i) {
    const AttributeValue& e = v.list[i];
    std::string where = prefix + "Vector attribute " + std::string(attr) + " element [" + std::to_string(i) + "]";
    if (e.type != AttrType::kN) {
      return Status(ErrorCode::kBadValue,
                    where + " is of type " + std::string(AttrTypeName(e.type)) + ", expected N" + suffix);
    }
    double d = std::strtod(e.scalar.c_str(), nullptr);
    if (!std::isfinite(d) || std::fabs(d) > 3.4028234663852886e38) {
      return Status(ErrorCode::kBadValue, where + " " + e.scalar + " is outside the 32-bit floating point range" + suffix);
    }
  }
  return Status::OK();
}

}  // namespace amalgam::dynamo
