#include "query/timezone.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <mutex>

namespace amalgam::query {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = FloorDiv(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

namespace {

constexpr int64_t kSecPerDay = 86400;
constexpr int64_t kNoStart = std::numeric_limits<int64_t>::min();
// Real offsets stay within a day; anything larger is a corrupt file.
constexpr int32_t kMaxOffset = 26 * 3600;
constexpr size_t kMaxTzifBytes = 1 << 20;

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int64_t YearOfDays(int64_t days) {
  int64_t z = days + 719468;
  int64_t era = FloorDiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  return yoe + era * 400 + (mp >= 10);
}

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Local seconds since the epoch at which `r` happens in year `y`.
int64_t RuleLocalSeconds(const ZoneRules::RuleDate& r, int64_t y) {
  int64_t jan1 = DaysFromCivil(y, 1, 1);
  int64_t day;
  switch (r.kind) {
    case ZoneRules::RuleDate::Kind::kJulianNoLeap:
      day = jan1 + r.day - 1 + ((IsLeap(y) && r.day >= 60) ? 1 : 0);
      break;
    case ZoneRules::RuleDate::Kind::kJulianZero:
      day = jan1 + r.day;
      break;
    case ZoneRules::RuleDate::Kind::kMonthWeekDay:
    default: {
      int64_t first = DaysFromCivil(y, r.month, 1);
      int64_t first_dow = ((first + 4) % 7 + 7) % 7;  // 1970-01-01 was a Thursday (4)
      day = first + (r.day - first_dow + 7) % 7 + int64_t{r.week - 1} * 7;
      while (day >= first + DaysInMonth(y, r.month)) day -= 7;
      break;
    }
  }
  return day * kSecPerDay + r.time;
}

ZoneRules::Period FooterPeriod(const ZoneRules::PosixRule& rule, int64_t t) {
  if (!rule.has_dst) return {rule.std_offset, kNoStart};
  int64_t year = YearOfDays(FloorDiv(t, kSecPerDay));
  struct Change {
    int64_t at;
    int32_t offset;
  };
  Change changes[6];
  int n = 0;
  for (int64_t y = year - 1; y <= year + 1; ++y) {
    changes[n++] = {RuleLocalSeconds(rule.start, y) - rule.std_offset, rule.dst_offset};
    changes[n++] = {RuleLocalSeconds(rule.end, y) - rule.dst_offset, rule.std_offset};
  }
  std::stable_sort(changes, changes + n,
                   [](const Change& a, const Change& b) { return a.at < b.at; });
  ZoneRules::Period p{rule.std_offset, kNoStart};
  for (int i = 0; i < n && changes[i].at <= t; ++i) p = {changes[i].offset, changes[i].at};
  return p;
}

// ---- TZif reading ----------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool Has(size_t n) const { return b_.size() - pos_ >= n; }
  size_t pos() const { return pos_; }
  void Skip(size_t n) { pos_ += n; }
  uint8_t U8() { return static_cast<uint8_t>(b_[pos_++]); }
  int64_t Be(int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_++]);
    if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
    return static_cast<int64_t>(v);
  }
  std::string_view Rest() const { return b_.substr(pos_); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

struct Header {
  char version;
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  // Bytes of the data block that follows, with `time_width`-byte times.
  uint64_t DataSize(int time_width) const {
    return uint64_t{timecnt} * time_width + timecnt + uint64_t{typecnt} * 6 + charcnt +
           uint64_t{leapcnt} * (time_width + 4) + isstdcnt + isutcnt;
  }
};

Result<Header> ReadHeader(Reader& r) {
  if (!r.Has(44)) return InvalidArgument("TZif header truncated");
  if (r.Rest().substr(0, 4) != "TZif") return InvalidArgument("not a TZif file (bad magic)");
  r.Skip(4);
  Header h;
  h.version = static_cast<char>(r.U8());
  r.Skip(15);
  h.isutcnt = static_cast<uint32_t>(r.Be(4));
  h.isstdcnt = static_cast<uint32_t>(r.Be(4));
  h.leapcnt = static_cast<uint32_t>(r.Be(4));
  h.timecnt = static_cast<uint32_t>(r.Be(4));
  h.typecnt = static_cast<uint32_t>(r.Be(4));
  h.charcnt = static_cast<uint32_t>(r.Be(4));
  if (h.typecnt == 0) return InvalidArgument("TZif file has no local time types");
  if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
    return InvalidArgument("TZif indicator counts do not match the type count");
  }
  if (h.leapcnt != 0) return InvalidArgument("TZif files with leap seconds are not supported");
  return h;
}

// Parses [+-]hh[:mm[:ss]] at `*p` (hours up to `max_hours`): seconds, or nullopt.
std::optional<int32_t> ParseClock(std::string_view s, size_t* p, int max_hours) {
  int sign = 1;
  if (*p < s.size() && (s[*p] == '+' || s[*p] == '-')) sign = s[(*p)++] == '-' ? -1 : 1;
  int32_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      if (*p >= s.size() || s[*p] != ':') break;
      ++*p;
    }
    size_t start = *p;
    int32_t v = 0;
    while (*p < s.size() && s[*p] >= '0' && s[*p] <= '9' && *p - start < 3)
      v = v * 10 + (s[(*p)++] - '0');
    if (*p == start) return std::nullopt;
    if ((i == 0 && v > max_hours) || (i > 0 && v > 59)) return std::nullopt;
    parts[i] = v;
  }
  return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
}

bool ParseAbbrev(std::string_view s, size_t* p) {
  size_t start = *p;
  if (*p < s.size() && s[*p] == '<') {
    size_t close = s.find('>', *p);
    if (close == std::string_view::npos || close - start < 4) return false;
    *p = close + 1;
    return true;
  }
  while (*p < s.size() && ((s[*p] >= 'A' && s[*p] <= 'Z') || (s[*p] >= 'a' && s[*p] <= 'z'))) ++*p;
  return *p - start >= 3;
}

bool ParseRuleDate(std::string_view s, size_t* p, ZoneRules::RuleDate* out) {
  using Kind = ZoneRules::RuleDate::Kind;
  auto number = [&](int* v) {
    size_t start = *p;
    *v = 0;
    while (*p < s.size() && s[*p] >= '0' && s[*p] <= '9' && *p - start < 3)
      *v = *v * 10 + (s[(*p)++] - '0');
    return *p > start;
  };
  if (*p < s.size() && s[*p] == 'J') {
    ++*p;
    out->kind = Kind::kJulianNoLeap;
    if (!number(&out->day) || out->day < 1 || out->day > 365) return false;
  } else if (*p < s.size() && s[*p] == 'M') {
    ++*p;
    out->kind = Kind::kMonthWeekDay;
    if (!number(&out->month) || out->month < 1 || out->month > 12) return false;
    if (*p >= s.size() || s[(*p)++] != '.' || !number(&out->week) || out->week < 1 || out->week > 5)
      return false;
    if (*p >= s.size() || s[(*p)++] != '.' || !number(&out->day) || out->day > 6) return false;
  } else {
    out->kind = Kind::kJulianZero;
    if (!number(&out->day) || out->day > 365) return false;
  }
  out->time = 7200;
  if (*p < s.size() && s[*p] == '/') {
    ++*p;
    std::optional<int32_t> t = ParseClock(s, p, 167);
    if (!t) return false;
    out->time = *t;
  }
  return true;
}

std::optional<int32_t> ParseFixedOffset(std::string_view s) {
  // MongoDB's UTC offsets: +hh, +hhmm, +hh:mm (and '-').
  if (s.size() < 3 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  std::string_view rest = s.substr(1);
  std::string digits;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == ':' && i == 2 && rest.size() == 5) continue;
    if (rest[i] < '0' || rest[i] > '9') return std::nullopt;
    digits.push_back(rest[i]);
  }
  if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
  int h = (digits[0] - '0') * 10 + (digits[1] - '0');
  int m = digits.size() == 4 ? (digits[2] - '0') * 10 + (digits[3] - '0') : 0;
  // MongoDB does not bound the minutes: "+0560" is six hours.
  return (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '+' || c == '/';
    if (!ok) return false;  // no '.', so no ".." and no hidden files
    if (c == '/' && name[i + 1] == '/') return false;
  }
  // Files in the zoneinfo tree that are not MongoDB zone names: the machine's own zone, the
  // POSIX default rules, and the alternative trees.
  if (name == "localtime" || name == "posixrules" || name.starts_with("posix/") ||
      name.starts_with("right/")) {
    return false;
  }
  return true;
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  std::optional<std::string> out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<size_t>(st.st_size) <= kMaxTzifBytes) {
    std::string data(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == data.size()) out = std::move(data);
  }
  ::close(fd);
  return out;
}

}  // namespace

// ---- ZoneRules -------------------------------------------------------------------------------

Result<ZoneRules::PosixRule> ZoneRules::ParsePosixRule(std::string_view s) {
  PosixRule r;
  size_t p = 0;
  auto bad = [&](std::string_view what) {
    return InvalidArgument("malformed POSIX TZ string \"" + std::string(s) +
                           "\": " + std::string(what));
  };
  if (!ParseAbbrev(s, &p)) return bad("standard time name");
  std::optional<int32_t> std_off = ParseClock(s, &p, 24);
  if (!std_off) return bad("standard time offset");
  r.std_offset = -*std_off;
  if (std::abs(r.std_offset) > kMaxOffset) return bad("offset out of range");
  if (p == s.size()) return r;
  if (!ParseAbbrev(s, &p)) return bad("daylight time name");
  r.has_dst = true;
  r.dst_offset = r.std_offset + 3600;
  if (p < s.size() && s[p] != ',') {
    std::optional<int32_t> dst_off = ParseClock(s, &p, 24);
    if (!dst_off) return bad("daylight time offset");
    r.dst_offset = -*dst_off;
  }
  if (p == s.size()) {
    // No rule: POSIX leaves it to the implementation; tzcode uses the US rules.
    r.start = {RuleDate::Kind::kMonthWeekDay, 0, 3, 2, 7200};
    r.end = {RuleDate::Kind::kMonthWeekDay, 0, 11, 1, 7200};
    return r;
  }
  if (s[p++] != ',' || !ParseRuleDate(s, &p, &r.start)) return bad("start rule");
  if (p >= s.size() || s[p++] != ',' || !ParseRuleDate(s, &p, &r.end)) return bad("end rule");
  if (p != s.size()) return bad("trailing characters");
  if (std::abs(r.dst_offset) > kMaxOffset) return bad("offset out of range");
  return r;
}

Result<std::unique_ptr<ZoneRules>> ZoneRules::ParseTzif(std::string_view bytes) {
  Reader r(bytes);
  AMALGAM_ASSIGN_OR_RETURN(Header h, ReadHeader(r));
  int width = 4;
  if (h.version >= '2') {
    if (!r.Has(h.DataSize(4))) return InvalidArgument("TZif version 1 data truncated");
    r.Skip(h.DataSize(4));
    AMALGAM_ASSIGN_OR_RETURN(h, ReadHeader(r));
    width = 8;
  } else if (h.version != '\0') {
    return InvalidArgument("unknown TZif version");
  }
  if (!r.Has(h.DataSize(width))) return InvalidArgument("TZif data truncated");
  auto rules = std::make_unique<ZoneRules>();
  rules->transitions_.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    rules->transitions_[i] = r.Be(width);
    if (i > 0 && rules->transitions_[i] <= rules->transitions_[i - 1]) {
      return InvalidArgument("TZif transition times are not ascending");
    }
  }
  std::vector<uint8_t> type_of(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) {
    type_of[i] = r.U8();
    if (type_of[i] >= h.typecnt)
      return InvalidArgument("TZif transition names a missing time type");
  }
  std::vector<int32_t> type_offset(h.typecnt);
  for (uint32_t i = 0; i < h.typecnt; ++i) {
    int64_t off = r.Be(4);
    r.Skip(2);  // isdst, desigidx
    if (off > kMaxOffset || off < -kMaxOffset)
      return InvalidArgument("TZif UTC offset out of range");
    type_offset[i] = static_cast<int32_t>(off);
  }
  r.Skip(h.charcnt + uint64_t{h.leapcnt} * (width + 4) + h.isstdcnt + h.isutcnt);
  rules->offsets_.resize(h.timecnt);
  for (uint32_t i = 0; i < h.timecnt; ++i) rules->offsets_[i] = type_offset[type_of[i]];
  rules->initial_offset_ = type_offset[0];
  if (width == 8) {
    std::string_view rest = r.Rest();
    if (rest.empty() || rest[0] != '\n') return InvalidArgument("TZif footer missing");
    size_t end = rest.find('\n', 1);
    if (end == std::string_view::npos) return InvalidArgument("TZif footer not terminated");
    std::string_view tz = rest.substr(1, end - 1);
    if (!tz.empty()) {
      AMALGAM_ASSIGN_OR_RETURN(PosixRule footer, ParsePosixRule(tz));
      rules->footer_ = footer;
    }
  }
  return rules;
}

ZoneRules::Period ZoneRules::PeriodAt(int64_t t) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (it == transitions_.end() && footer_) {
    Period p = FooterPeriod(*footer_, t);
    if (!transitions_.empty()) p.start = std::max(p.start, transitions_.back());
    return p;
  }
  if (it == transitions_.begin()) return {initial_offset_, kNoStart};
  size_t i = static_cast<size_t>(it - transitions_.begin()) - 1;
  return {offsets_[i], transitions_[i]};
}

// ---- TimeZone --------------------------------------------------------------------------------

int32_t TimeZone::OffsetSecondsAt(int64_t utc_millis) const {
  if (rules_ == nullptr) return fixed_;
  return rules_->PeriodAt(FloorDiv(utc_millis, 1000)).offset;
}

int64_t TimeZone::ToUtc(int64_t local_millis) const {
  if (rules_ == nullptr) return local_millis - int64_t{fixed_} * 1000;
  // timelib's do_adjust_timezone: `current` is the offset at the local time read as UTC,
  // `after` the offset at the instant that guess gives. When they differ the guess crossed a
  // transition; the time is inside the transition's gap exactly when it lies in the
  // |current - after| seconds before the transition (read with `after`), and then `current`
  // (the offset from before the change) applies.
  int32_t current = rules_->PeriodAt(FloorDiv(local_millis, 1000)).offset;
  ZoneRules::Period after =
      rules_->PeriodAt(FloorDiv(local_millis - int64_t{current} * 1000, 1000));
  int64_t as_after = FloorDiv(local_millis - int64_t{after.offset} * 1000, 1000);
  bool in_transition = after.start != kNoStart &&
                       as_after >= after.start + (current - after.offset) && as_after < after.start;
  int32_t use = (current != after.offset && !in_transition) ? after.offset : current;
  return local_millis - int64_t{use} * 1000;
}

// ---- TimeZoneDatabase ------------------------------------------------------------------------

std::optional<TimeZone> TimeZoneDatabase::Find(std::string_view id) {
  if (id == "UTC" || id == "GMT" || id == "Z" || id == "Etc/UTC" || id == "Etc/GMT")
    return TimeZone();
  if (!id.empty() && (id[0] == '+' || id[0] == '-')) {
    std::optional<int32_t> off = ParseFixedOffset(id);
    if (!off) return std::nullopt;
    return TimeZone::Fixed(*off);
  }
  if (!ValidZoneName(id)) return std::nullopt;
  const ZoneRules* rules = Load(id);
  if (rules == nullptr) return std::nullopt;
  return TimeZone::Zone(rules);
}

const ZoneRules* TimeZoneDatabase::Load(std::string_view name) {
  {
    std::shared_lock lock(mu_);
    auto it = zones_.find(name);
    if (it != zones_.end()) return it->second.get();
  }
  std::string key(name);
  // Read and parse outside the lock; a racing loader of the same zone loses harmlessly.
  std::optional<std::string> bytes = ReadSmallFile(dir_ + "/" + key);
  if (!bytes) return nullptr;
  Result<std::unique_ptr<ZoneRules>> parsed = ZoneRules::ParseTzif(*bytes);
  if (!parsed.ok()) return nullptr;
  std::unique_lock lock(mu_);
  auto [it, inserted] = zones_.try_emplace(std::move(key), std::move(parsed).value());
  return it->second.get();
}

TimeZoneDatabase& SystemTimeZones() {
  static TimeZoneDatabase db([] {
    const char* dir = std::getenv("TZDIR");
    return std::string(dir != nullptr && dir[0] == '/' ? dir : "/usr/share/zoneinfo");
  }());
  return db;
}

}  // namespace amalgam::query
