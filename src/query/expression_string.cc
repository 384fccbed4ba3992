// String operators: $substrBytes/$substrCP/$substr, $strLenBytes, $indexOfBytes/$indexOfCP,
// $trim/$ltrim/$rtrim, $regexMatch/$regexFind/$regexFindAll (PCRE2), $replaceOne/$replaceAll,
// $strcasecmp.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "query/expression_internal.h"

namespace amalgam::query::expr_internal {
namespace {

using bson::BsonType;

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Byte offsets of every code point start, plus the end.
std::vector<size_t> CodePointStarts(std::string_view s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsContinuation(static_cast<unsigned char>(s[i]))) out.push_back(i);
  }
  out.push_back(s.size());
  return out;
}

// MongoDB's coercion of an operand to a string for $substr*/$strcasecmp: null/missing is "".
Result<std::string> CoerceToString(const bson::Value& v) {
  switch (v.type()) {
    case BsonType::kEod:
    case BsonType::kNull:
    case BsonType::kUndefined: return std::string();
    case BsonType::kString:
    case BsonType::kSymbol:
    case BsonType::kCode: return std::string(v.AsString());
    case BsonType::kInt32: return std::to_string(v.AsInt32());
    case BsonType::kInt64: return std::to_string(v.AsInt64());
    case BsonType::kDouble: {
      std::string s = Shown(v);
      return s;
    }
    default:
      return Coded(16007, "can't convert from BSON type " + TypeName(v) + " to String");
  }
}

// ---- substrings ------------------------------------------------------------------------------

Result<ExprValue> SubstrBytesFn(const std::vector<ExprValue>& a) {
  AMALGAM_ASSIGN_OR_RETURN(std::string s, CoerceToString(a[0].value()));
  if (!a[1].value().IsNumber()) {
    return Coded(16034, "$substrBytes: starting index must be a numeric type (is BSON type " +
                            TypeName(a[1].value()) + ")");
  }
  if (!a[2].value().IsNumber()) {
    return Coded(16035, "$substrBytes: length must be a numeric type (is BSON type " +
                            TypeName(a[2].value()) + ")");
  }
  double start_d = a[1].value().NumberAsDouble();
  double len_d = a[2].value().NumberAsDouble();
  if (start_d < 0 || std::isnan(start_d)) return MakeString("");
  size_t start = start_d >= static_cast<double>(s.size()) ? s.size() : static_cast<size_t>(start_d);
  size_t len = (len_d < 0 || len_d >= static_cast<double>(s.size())) ? s.size() - start
                                                                      : static_cast<size_t>(len_d);
  if (start >= s.size()) return MakeString("");
  if (IsContinuation(static_cast<unsigned char>(s[start]))) {
    return Coded(28656, "$substrBytes:  Invalid range, starting index is a UTF-8 continuation byte.");
  }
  len = std::min(len, s.size() - start);
  if (start + len < s.size() && IsContinuation(static_cast<unsigned char>(s[start + len]))) {
    return Coded(28657,
                 "$substrBytes:  Invalid range, ending index is in the middle of a UTF-8 character.");
  }
  return MakeString(std::string_view(s).substr(start, len));
}

Result<ExprValue> SubstrCPFn(const std::vector<ExprValue>& a) {
  AMALGAM_ASSIGN_OR_RETURN(std::string s, CoerceToString(a[0].value()));
  const bson::Value& sv = a[1].value();
  const bson::Value& lv = a[2].value();
  if (!sv.IsNumber()) {
    return Coded(34450, "$substrCP: starting index must be a numeric type (is BSON type " +
                            TypeName(sv) + ")");
  }
  int32_t start, len;
  if (!AsInt32Exact(sv, &start)) {
    return Coded(34451, "$substrCP: starting index cannot be represented as a 32-bit integral value: " +
                            Shown(sv));
  }
  if (!lv.IsNumber()) {
    return Coded(34452, "$substrCP: length must be a numeric type (is BSON type " + TypeName(lv) + ")");
  }
  if (!AsInt32Exact(lv, &len)) {
    return Coded(34453,
                 "$substrCP: length cannot be represented as a 32-bit integral value: " + Shown(lv));
  }
  if (start < 0) return Coded(34455, "$substrCP: the starting index must be nonnegative integer.");
  if (len < 0) return Coded(34454, "$substrCP: length must be a nonnegative integer.");
  std::vector<size_t> cps = CodePointStarts(s);
  size_t n = cps.size() - 1;
  size_t from = std::min<size_t>(static_cast<size_t>(start), n);
  size_t to = std::min<size_t>(from + static_cast<size_t>(len), n);
  return MakeString(std::string_view(s).substr(cps[from], cps[to] - cps[from]));
}

Result<ExprValue> StrLenBytesFn(const std::vector<ExprValue>& a) {
  if (a[0].value().type() != BsonType::kString) {
    return Coded(34473, "$strLenBytes requires a string argument, found: " + TypeName(a[0].value()));
  }
  size_t n = a[0].value().AsString().size();
  return n > INT32_MAX ? MakeInt64(static_cast<int64_t>(n)) : MakeInt32(static_cast<int32_t>(n));
}

template <bool kCP>
Result<ExprValue> IndexOfFn(const std::vector<ExprValue>& a) {
  std::string op = kCP ? "$indexOfCP" : "$indexOfBytes";
  if (a[0].nullish()) return MakeNull();
  if (a[0].value().type() != BsonType::kString) {
    return Coded(kCP ? 40093 : 40091, op + " requires a string as the first argument, found: " +
                                          TypeName(a[0].value()));
  }
  if (a[1].value().type() != BsonType::kString) {
    return Coded(kCP ? 40094 : 40092, op + " requires a string as the second argument, found: " +
                                          TypeName(a[1].value()));
  }
  std::string_view s = a[0].value().AsString();
  std::string_view needle = a[1].value().AsString();
  std::vector<size_t> cps;
  if (kCP) cps = CodePointStarts(s);
  size_t units = kCP ? cps.size() - 1 : s.size();
  int64_t bounds[2] = {0, static_cast<int64_t>(units)};
  for (size_t i = 2; i < a.size(); ++i) {
    const bson::Value& v = a[i].value();
    int64_t x;
    if (!AsInt64Exact(v, &x)) {
      return Coded(40096, op + " requires an integral " + (i == 2 ? "starting" : "ending") +
                              " index, found a value of type: " + TypeName(v) + ", with value: " +
                              Shown(v));
    }
    if (x < 0) {
      return Coded(40097, op + " requires a nonnegative " + (i == 2 ? "start" : "ending") +
                              " index, found: " + std::to_string(x));
    }
    bounds[i - 2] = std::min<int64_t>(x, static_cast<int64_t>(units));
  }
  if (bounds[0] > bounds[1]) return MakeInt32(-1);
  if (!kCP) {
    std::string_view window = s.substr(0, static_cast<size_t>(bounds[1]));
    size_t pos = window.find(needle, static_cast<size_t>(bounds[0]));
    return MakeInt32(pos == std::string_view::npos ? -1 : static_cast<int32_t>(pos));
  }
  for (int64_t i = bounds[0]; i <= bounds[1]; ++i) {
    size_t off = cps[static_cast<size_t>(i)];
    if (off + needle.size() > cps[static_cast<size_t>(bounds[1])]) break;
    if (s.compare(off, needle.size(), needle) == 0) return MakeInt32(static_cast<int32_t>(i));
  }
  return MakeInt32(-1);
}

Result<ExprValue> StrcasecmpFn(const std::vector<ExprValue>& a) {
  AMALGAM_ASSIGN_OR_RETURN(std::string x, CoerceToString(a[0].value()));
  AMALGAM_ASSIGN_OR_RETURN(std::string y, CoerceToString(a[1].value()));
  for (char& c : x) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : y) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int c = x.compare(y);
  return MakeInt32(c < 0 ? -1 : (c > 0 ? 1 : 0));
}

// ---- named-argument operators ----------------------------------------------------------------

// Parses {name: expr, ...} into slots for `names`; unknown names fail with `unknown`.
Status ParseNamed(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth,
                  std::initializer_list<std::string_view> names, std::vector<ExprPtr>* slots,
                  int32_t unknown_code) {
  slots->clear();
  slots->resize(names.size());
  for (const bson::Element& e : v.AsDocument()) {
    size_t i = 0;
    bool found = false;
    for (std::string_view n : names) {
      if (n == e.name) {
        AMALGAM_ASSIGN_OR_RETURN((*slots)[i], Expression::Parse(e.value, ctx, depth + 1));
        found = true;
      }
      ++i;
    }
    if (!found) {
      return Coded(unknown_code, std::string(op) + " found an unknown argument: " + std::string(e.name));
    }
  }
  return Status::OK();
}

// $trim/$ltrim/$rtrim.
class TrimExpr final : public Expression {
 public:
  TrimExpr(std::string op, bool left, bool right, ExprPtr input, ExprPtr chars)
      : op_(std::move(op)), left_(left), right_(right), input_(std::move(input)), chars_(std::move(chars)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue in, input_->Evaluate(ctx));
    if (in.nullish()) return MakeNull();
    if (in.value().type() != BsonType::kString) {
      return Coded(50699, op_ + " requires its input to be a string, got " + Shown(in.value()) +
                              " (of type " + TypeName(in.value()) + ") instead.");
    }
    std::vector<std::string> set;
    if (chars_) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue c, chars_->Evaluate(ctx));
      if (c.nullish()) return MakeNull();
      if (c.value().type() != BsonType::kString) {
        return Coded(50700, op_ + " requires 'chars' to be a string, got " + Shown(c.value()) +
                                " (of type " + TypeName(c.value()) + ") instead.");
      }
      std::string_view cs = c.value().AsString();
      std::vector<size_t> cps = CodePointStarts(cs);
      for (size_t i = 0; i + 1 < cps.size(); ++i) set.emplace_back(cs.substr(cps[i], cps[i + 1] - cps[i]));
    } else {
      // MongoDB's default: the ASCII whitespace and NUL plus the Unicode space separators.
      static const char* const kDefault[] = {
          "", " ", "\t", "\n", "\v", "\f", "\r", "\xC2\xA0",
          "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81", "\xE2\x80\x82", "\xE2\x80\x83",
          "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88",
          "\xE2\x80\x89", "\xE2\x80\x8A"};
      set.emplace_back(std::string(1, '\0'));
      for (size_t i = 1; i < std::size(kDefault); ++i) set.emplace_back(kDefault[i]);
    }
    std::string_view s = in.value().AsString();
    std::vector<size_t> cps = CodePointStarts(s);
    size_t lo = 0, hi = cps.size() - 1;  // code point indexes [lo, hi)
    auto in_set = [&](size_t i) {
      std::string_view cp = s.substr(cps[i], cps[i + 1] - cps[i]);
      for (const std::string& c : set) {
        if (c == cp) return true;
      }
      return false;
    };
    if (left_) {
      while (lo < hi && in_set(lo)) ++lo;
    }
    if (right_) {
      while (hi > lo && in_set(hi - 1)) --hi;
    }
    return MakeString(s.substr(cps[lo], cps[hi] - cps[lo]));
  }

 private:
  std::string op_;
  bool left_, right_;
  ExprPtr input_, chars_;
};

template <int kWhich>  // 0 both, 1 left, 2 right
Result<ExprPtr> ParseTrim(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                          int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(50696, std::string(op) + " only supports an object as an argument, found " +
                            TypeName(v));
  }
  std::vector<ExprPtr> slots;
  AMALGAM_RETURN_IF_ERROR(ParseNamed(op, v, ctx, depth, {"input", "chars"}, &slots, 50694));
  if (!slots[0]) return Coded(50695, std::string(op) + " requires an 'input' field");
  return ExprPtr(std::make_unique<TrimExpr>(std::string(op), kWhich != 2, kWhich != 1,
                                            std::move(slots[0]), std::move(slots[1])));
}

// $replaceOne/$replaceAll.
class ReplaceExpr final : public Expression {
 public:
  ReplaceExpr(bool all, Args a) : all_(all), a_(std::move(a)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    std::string op = all_ ? "$replaceAll" : "$replaceOne";
    AMALGAM_ASSIGN_OR_RETURN(std::vector<ExprValue> v, EvalAll(a_, ctx));
    static constexpr std::string_view kNames[3] = {"input", "find", "replacement"};
    static constexpr int32_t kCodes[3] = {51746, 51745, 51744};
    bool null = false;
    for (int i = 0; i < 3; ++i) {
      if (v[i].nullish()) {
        null = true;
      } else if (v[i].value().type() != BsonType::kString) {
        return Coded(kCodes[i], op + " requires that '" + std::string(kNames[i]) +
                                    "' be a string, found: " + Shown(v[i].value()));
      }
    }
    if (null) return MakeNull();
    std::string_view s = v[0].value().AsString(), find = v[1].value().AsString(),
                     repl = v[2].value().AsString();
    std::string out;
    size_t pos = 0;
    while (true) {
      size_t hit = s.find(find, pos);
      if (hit == std::string_view::npos) break;
      out.append(s.substr(pos, hit - pos));
      out.append(repl);
      pos = hit + find.size();
      if (!all_) break;
      if (find.empty()) {
        // An empty needle matches between every character.
        if (pos >= s.size()) {
          pos = s.size() + 1;
          break;
        }
        size_t next = pos + 1;
        while (next < s.size() && IsContinuation(static_cast<unsigned char>(s[next]))) ++next;
        out.append(s.substr(pos, next - pos));
        pos = next;
      }
    }
    if (pos <= s.size()) out.append(s.substr(pos));
    return MakeString(out);
  }

 private:
  bool all_;
  Args a_;
};

template <bool kAll>
Result<ExprPtr> ParseReplace(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                             int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(51751, std::string(op) + " requires an object as an argument, found: " + TypeName(v));
  }
  std::vector<ExprPtr> slots;
  AMALGAM_RETURN_IF_ERROR(ParseNamed(op, v, ctx, depth, {"input", "find", "replacement"}, &slots, 51750));
  if (!slots[0]) return Coded(51749, std::string(op) + " requires 'input' to be specified");
  if (!slots[1]) return Coded(51748, std::string(op) + " requires 'find' to be specified");
  if (!slots[2]) return Coded(51747, std::string(op) + " requires 'replacement' to be specified");
  return ExprPtr(std::make_unique<ReplaceExpr>(kAll, std::move(slots)));
}

// ---- regular expressions ---------------------------------------------------------------------

struct CodeFree {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeFree>;

Result<CodePtr> CompileRegex(const std::string& op, std::string_view pattern, std::string_view options) {
  uint32_t flags = PCRE2_UTF;
  for (char c : options) {
    switch (c) {
      case 'i': flags |= PCRE2_CASELESS; break;
      case 'm': flags |= PCRE2_MULTILINE; break;
      case 's': flags |= PCRE2_DOTALL; break;
      case 'x': flags |= PCRE2_EXTENDED; break;
      case 'u': break;
      default: return Coded(51108, op + " invalid flag in regex options: " + std::string(1, c));
    }
  }
  if (pattern.find('\0') != std::string_view::npos) {
    return Coded(51109, op + ": regular expression cannot contain an embedded null byte");
  }
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   flags, &err, &off, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    return Coded(51111, "Invalid Regex in " + op + ": " + reinterpret_cast<const char*>(buf));
  }
  return CodePtr(code);
}

// 0 $regexMatch, 1 $regexFind, 2 $regexFindAll.
class RegexExpr final : public Expression {
 public:
  RegexExpr(int kind, std::string op, ExprPtr input, ExprPtr regex, ExprPtr options)
      : kind_(kind), op_(std::move(op)), input_(std::move(input)), regex_(std::move(regex)),
        options_(std::move(options)) {}

  // A constant pattern and options: compiled once here instead of per document.
  void Precompile(CodePtr code, std::string pattern, std::string options) {
    cached_ = std::shared_ptr<pcre2_code>(code.release(), CodeFree());
    cached_pattern_ = std::move(pattern);
    cached_options_ = std::move(options);
  }

  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue in, input_->Evaluate(ctx));
    AMALGAM_ASSIGN_OR_RETURN(ExprValue re, regex_->Evaluate(ctx));
    ExprValue opt;
    if (options_) {
      AMALGAM_ASSIGN_OR_RETURN(opt, options_->Evaluate(ctx));
    }
    std::string pattern, options;
    bool have_regex = false;
    if (!re.nullish()) {
      if (re.value().type() == BsonType::kString) {
        pattern = std::string(re.value().AsString());
      } else if (re.value().type() == BsonType::kRegex) {
        pattern = std::string(re.value().AsRegex().pattern);
        options = std::string(re.value().AsRegex().options);
      } else {
        return Coded(51105, op_ + " needs 'regex' to be of type string or regex");
      }
      have_regex = true;
    }
    if (!opt.nullish()) {
      if (opt.value().type() != BsonType::kString) {
        return Coded(51106, op_ + " needs 'options' to be of type string");
      }
      if (!options.empty()) {
        return Coded(51107, op_ + " found regex option(s) specified in both 'regex' and 'option' fields");
      }
      options = std::string(opt.value().AsString());
    }
    if (!in.nullish() && in.value().type() != BsonType::kString) {
      return Coded(51104, op_ + " needs 'input' to be of type string");
    }
    if (in.nullish() || !have_regex) {
      if (kind_ == 0) return MakeBool(false);
      if (kind_ == 1) return MakeNull();
      return MakeArray({});
    }
    CodePtr owned;
    pcre2_code* compiled = nullptr;
    if (cached_ && pattern == cached_pattern_ && options == cached_options_) {
      compiled = cached_.get();
    } else {
      AMALGAM_ASSIGN_OR_RETURN(owned, CompileRegex(op_, pattern, options));
      compiled = owned.get();
    }
    std::string_view s = in.value().AsString();
    std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> md(
        pcre2_match_data_create_from_pattern(compiled, nullptr), pcre2_match_data_free);
    bson::Builder b;
    b.StartArray("");
    bson::ArrayBuilder ab(b);
    size_t start = 0;
    int found = 0;
    constexpr int kMaxMatches = 1 << 20;
    while (start <= s.size() && found < kMaxMatches) {
      int rc = pcre2_match(compiled, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), start, 0,
                           md.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) return Coded(51156, "Error occurred while executing the regular expression in " + op_ + ". Result code: " + std::to_string(rc));
      if (kind_ == 0) return MakeBool(true);
      ++found;
      PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
      uint32_t groups = pcre2_get_ovector_count(md.get());
      size_t m0 = ov[0], m1 = ov[1];
      // idx counts code points before the match.
      int32_t idx = 0;
      for (size_t i = 0; i < m0; ++i) idx += !IsContinuation(static_cast<unsigned char>(s[i]));
      b.StartDocument(ab.Next());
      b.AppendString("match", s.substr(m0, m1 - m0));
      b.AppendInt32("idx", idx);
      b.StartArray("captures");
      bson::ArrayBuilder cb(b);
      uint32_t capture_count = 0;
      pcre2_pattern_info(compiled, PCRE2_INFO_CAPTURECOUNT, &capture_count);
      for (uint32_t g = 1; g <= capture_count; ++g) {
        if (g < groups && ov[2 * g] != PCRE2_UNSET) {
          b.AppendString(cb.Next(), s.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]));
        } else {
          b.AppendNull(cb.Next());
        }
      }
      b.EndArray();
      b.EndDocument();
      if (kind_ == 1) break;
      if (m1 == m0) {
        // Empty match: step one code point on.
        size_t next = m1 + 1;
        while (next < s.size() && IsContinuation(static_cast<unsigned char>(s[next]))) ++next;
        start = next;
      } else {
        start = m1;
      }
    }
    b.EndArray();
    if (kind_ == 0) return MakeBool(false);
    ExprValue all = ExprValue::Own(std::move(b).Finish());
    if (kind_ == 2) return all;
    if (found == 0) return MakeNull();
    return CopyValue(all.value().AsDocument().begin()->value);
  }

 private:
  int kind_;
  std::string op_;
  ExprPtr input_, regex_, options_;
  std::shared_ptr<pcre2_code> cached_;  // pcre2 code is read-only while matching: shareable
  std::string cached_pattern_, cached_options_;
};

template <int kKind>
Result<ExprPtr> ParseRegex(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                           int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(51103, std::string(op) + " expects an object of named arguments but found: " +
                            TypeName(v));
  }
  std::vector<ExprPtr> slots;
  AMALGAM_RETURN_IF_ERROR(ParseNamed(op, v, ctx, depth, {"input", "regex", "options"}, &slots, 31024));
  if (!slots[0]) return Coded(31022, std::string(op) + " requires 'input' parameter");
  if (!slots[1]) return Coded(31023, std::string(op) + " requires 'regex' parameter");
  auto expr = std::make_unique<RegexExpr>(kKind, std::string(op), std::move(slots[0]),
                                          std::move(slots[1]), std::move(slots[2]));
  // Constant regex (a string not starting with '$', or a BSON regex) and options: compile now.
  bson::Value re = v.AsDocument().Get("regex"), opts = v.AsDocument().Get("options");
  bool const_re = (re.type() == BsonType::kString && !re.AsString().starts_with("$")) ||
                  re.type() == BsonType::kRegex;
  bool const_opts = opts.missing() || (opts.type() == BsonType::kString && !opts.AsString().starts_with("$"));
  if (const_re && const_opts) {
    std::string pattern = re.type() == BsonType::kString ? std::string(re.AsString())
                                                         : std::string(re.AsRegex().pattern);
    std::string options = re.type() == BsonType::kRegex ? std::string(re.AsRegex().options) : "";
    bool both = !options.empty() && !opts.missing();
    if (!opts.missing() && !both) options = std::string(opts.AsString());
    if (!both) {
      Result<CodePtr> code = CompileRegex(std::string(op), pattern, options);
      if (code.ok()) expr->Precompile(std::move(code).value(), pattern, options);
    }
  }
  return ExprPtr(std::move(expr));
}

constexpr OperatorRow kRows[] = {
    {"$substrBytes", ParseNary<SubstrBytesFn, 3, 3>},
    {"$substr", ParseNary<SubstrBytesFn, 3, 3>},
    {"$substrCP", ParseNary<SubstrCPFn, 3, 3>},
    {"$strLenBytes", ParseNary<StrLenBytesFn, 1, 1>},
    {"$indexOfBytes", ParseNary<IndexOfFn<false>, 2, 4>},
    {"$indexOfCP", ParseNary<IndexOfFn<true>, 2, 4>},
    {"$strcasecmp", ParseNary<StrcasecmpFn, 2, 2>},
    {"$trim", ParseTrim<0>},
    {"$ltrim", ParseTrim<1>},
    {"$rtrim", ParseTrim<2>},
    {"$replaceOne", ParseReplace<false>},
    {"$replaceAll", ParseReplace<true>},
    {"$regexMatch", ParseRegex<0>},
    {"$regexFind", ParseRegex<1>},
    {"$regexFindAll", ParseRegex<2>},
};

}  // namespace

std::span<const OperatorRow> StringOperators() { return kRows; }

}  // namespace amalgam::query::expr_internal
