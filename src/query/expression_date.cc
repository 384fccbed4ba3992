// Date operators: $year $month $dayOfMonth $hour $minute $second $millisecond $dayOfYear
// $dayOfWeek $week $isoWeek $isoWeekYear $isoDayOfWeek, $dateToString, $dateFromString,
// $dateToParts, $dateFromParts, $dateAdd, $dateSubtract, $dateDiff, $dateTrunc.
//
// Time zones (query/timezone.h): "UTC"/"GMT"/"Z", fixed offsets ("+05:30", "-0800", "+03") and
// Olson (IANA) names ("Europe/Paris", "America/New_York", "Etc/GMT+5") from the system tzdata,
// whose offset depends on the instant (daylight saving time). Each evaluation resolves its zone
// once, from the database's cache (no file read after a zone's first use). Unknown identifiers
// fail with 40485 "unrecognized time zone identifier: "...""; non-strings with 40517.
//
// Local-time semantics, as MongoDB (timelib):
// - date parts, $dateToString, $dateToParts: the wall clock at the instant (%z "+hhmm" and %Z
//   "-300" print the offset in effect at that instant);
// - $dateFromParts, $dateFromString: a local wall-clock time becomes an instant with
//   TimeZone::ToUtc (a time in a DST gap is read with the offset from before the change);
// - $dateAdd/$dateSubtract: day, week, month, quarter and year move the wall clock (one day
//   across a DST change is 23 or 25 hours) and keep it; hour and smaller add elapsed time;
// - $dateTrunc: day and larger truncate the wall clock and convert back; hour and smaller cut
//   elapsed time into bins from 2000-01-01T00:00 local (read with that instant's offset), so
//   DST does not move hour bins;
// - $dateDiff: day and larger count local calendar boundaries; hour, minute and second count
//   wall-clock boundaries corrected by the change of offset in whole units; milliseconds are
//   elapsed time;
// - $dateFromString with a non-UTC timezone refuses strings carrying their own offset or 'Z'
//   (ConversionFailure, so onError applies).
// $dateToString's default format keeps its trailing 'Z' whatever the zone, as MongoDB 7.0 does
// (SERVER-76696 drops it for non-UTC zones from 7.1).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "query/expression_internal.h"
#include "query/timezone.h"

namespace amalgam::query::expr_internal {

// ParseDateString with a time zone for strings that carry no offset of their own.
Result<int64_t> ParseDateString(std::string_view s, const TimeZone& tz);

namespace {

using bson::BsonType;

constexpr int64_t kMsPerDay = 86400000;

struct Civil {
  int64_t year;
  int month, day, hour, minute, second, millis;
  int dow;  // 1 = Sunday .. 7 = Saturday
  int doy;  // 1..366
};

Civil ToCivil(int64_t millis) {
  int64_t days = FloorDiv(millis, kMsPerDay);
  int64_t rem = millis - days * kMsPerDay;
  int64_t z = days + 719468;
  int64_t era = FloorDiv(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  Civil c;
  c.year = y + (m <= 2);
  c.month = static_cast<int>(m);
  c.day = static_cast<int>(d);
  c.hour = static_cast<int>(rem / 3600000);
  c.minute = static_cast<int>(rem / 60000 % 60);
  c.second = static_cast<int>(rem / 1000 % 60);
  c.millis = static_cast<int>(rem % 1000);
  c.dow = static_cast<int>(((days + 4) % 7 + 7) % 7) + 1;  // 1970-01-01 was a Thursday (5)
  c.doy = static_cast<int>(days - DaysFromCivil(c.year, 1, 1)) + 1;
  return c;
}

// ISO weekday 1 = Monday .. 7 = Sunday.
int IsoDow(const Civil& c) { return c.dow == 1 ? 7 : c.dow - 1; }

// ISO week-numbering year and week.
void IsoWeek(const Civil& c, int64_t* iso_year, int* week) {
  int wd = IsoDow(c);
  int w = (c.doy - wd + 10) / 7;
  int64_t y = c.year;
  auto weeks_in = [](int64_t year) {
    int64_t jan1 = DaysFromCivil(year, 1, 1);
    int dow = static_cast<int>(((jan1 + 3) % 7 + 7) % 7) + 1;  // ISO weekday of Jan 1
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return (dow == 4 || (leap && dow == 3)) ? 53 : 52;
  };
  if (w < 1) {
    --y;
    w = weeks_in(y);
  } else if (w > weeks_in(y)) {
    ++y;
    w = 1;
  }
  *iso_year = y;
  *week = w;
}

// A time zone identifier: UTC, a fixed offset or an Olson name (40485 when none of these).
Result<TimeZone> ResolveTimezone(std::string_view id) {
  std::optional<TimeZone> tz = SystemTimeZones().Find(id);
  if (!tz) return Coded(40485, "unrecognized time zone identifier: \"" + std::string(id) + "\"");
  return *tz;
}

Result<TimeZone> ParseTimezone(const bson::Value& tz) {
  if (tz.type() != BsonType::kString) {
    return Coded(40517, "timezone must evaluate to a string, found " + TypeName(tz));
  }
  return ResolveTimezone(tz.AsString());
}

// A date operand: date, timestamp or ObjectId.
Result<int64_t> DateMillis(const bson::Value& v, std::string_view) {
  switch (v.type()) {
    case BsonType::kDate: return v.AsDateMillis();
    case BsonType::kTimestamp: return int64_t{v.AsTimestamp().seconds} * 1000;
    case BsonType::kObjectId: {
      auto oid = v.AsObjectId();
      return ((int64_t{oid[0]} << 24) | (int64_t{oid[1]} << 16) | (int64_t{oid[2]} << 8) | oid[3]) * 1000;
    }
    default: return Coded(16006, "can't convert from BSON type " + TypeName(v) + " to Date");
  }
}

int64_t Local(int64_t utc, const TimeZone& tz) { return tz.ToLocal(utc); }
int64_t Utc(int64_t local, const TimeZone& tz) { return tz.ToUtc(local); }

// ---- named arguments -------------------------------------------------------------------------

struct Named {
  std::vector<std::string_view> names;
  std::vector<ExprPtr> slots;
};

Status ParseNamedArgs(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth,
                      Named* n, int32_t not_object_code, int32_t unknown_code) {
  if (v.type() != BsonType::kDocument) {
    return Coded(not_object_code, std::string(op) + " only supports an object as its argument");
  }
  n->slots.clear();
  n->slots.resize(n->names.size());
  for (const bson::Element& e : v.AsDocument()) {
    bool found = false;
    for (size_t i = 0; i < n->names.size(); ++i) {
      if (n->names[i] == e.name) {
        AMALGAM_ASSIGN_OR_RETURN(n->slots[i], Expression::Parse(e.value, ctx, depth + 1));
        found = true;
      }
    }
    if (!found) return Coded(unknown_code, "Unrecognized argument to " + std::string(op) + ": " + std::string(e.name));
  }
  return Status::OK();
}

// Evaluates an optional timezone slot: UTC when absent; *null when it evaluates to null.
Result<TimeZone> EvalTz(const ExprPtr& e, const ExprEvalContext& ctx, bool* null) {
  if (!e) return TimeZone();
  AMALGAM_ASSIGN_OR_RETURN(ExprValue v, e->Evaluate(ctx));
  if (v.nullish()) {
    *null = true;
    return TimeZone();
  }
  return ParseTimezone(v.value());
}

// ---- $year ... ($hour etc. take a date, or {date, timezone}) ---------------------------------

class DatePartExpr final : public Expression {
 public:
  DatePartExpr(std::string op, ExprPtr date, ExprPtr tz) : op_(std::move(op)), date_(std::move(date)), tz_(std::move(tz)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue d, date_->Evaluate(ctx));
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(tz_, ctx, &tz_null));
    if (d.nullish() || tz_null) return MakeNull();
    AMALGAM_ASSIGN_OR_RETURN(int64_t ms, DateMillis(d.value(), op_));
    Civil c = ToCivil(Local(ms, tz));
    int64_t iso_year;
    int iso_week;
    if (op_ == "$year") return MakeInt32(static_cast<int32_t>(c.year));
    if (op_ == "$month") return MakeInt32(c.month);
    if (op_ == "$dayOfMonth") return MakeInt32(c.day);
    if (op_ == "$hour") return MakeInt32(c.hour);
    if (op_ == "$minute") return MakeInt32(c.minute);
    if (op_ == "$second") return MakeInt32(c.second);
    if (op_ == "$millisecond") return MakeInt32(c.millis);
    if (op_ == "$dayOfYear") return MakeInt32(c.doy);
    if (op_ == "$dayOfWeek") return MakeInt32(c.dow);
    if (op_ == "$isoDayOfWeek") return MakeInt32(IsoDow(c));
    if (op_ == "$week") {
      // Weeks start on Sunday; days before the year's first Sunday are week 0.
      return MakeInt32((c.doy - c.dow + 7) / 7);
    }
    IsoWeek(c, &iso_year, &iso_week);
    if (op_ == "$isoWeek") return MakeInt32(iso_week);
    return MakeInt64(iso_year);  // $isoWeekYear
  }

 private:
  std::string op_;
  ExprPtr date_, tz_;
};

Result<ExprPtr> ParseDatePart(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  bson::Value arg = v;
  if (arg.type() == BsonType::kArray) {
    std::vector<bson::Value> elems = Elements(arg);
    if (elems.size() != 1) {
      return Coded(40536, std::string(op) + " accepts exactly one argument if given an array, but was given " +
                              std::to_string(elems.size()));
    }
    arg = elems[0];
  }
  if (arg.type() == BsonType::kDocument && !arg.AsDocument().empty() &&
      !arg.AsDocument().begin()->name.starts_with("$")) {
    ExprPtr date, tz;
    for (const bson::Element& e : arg.AsDocument()) {
      if (e.name == "date") {
        AMALGAM_ASSIGN_OR_RETURN(date, Expression::Parse(e.value, ctx, depth + 1));
      } else if (e.name == "timezone") {
        AMALGAM_ASSIGN_OR_RETURN(tz, Expression::Parse(e.value, ctx, depth + 1));
      } else {
        return Coded(40535, "unrecognized option to " + std::string(op) + ": \"" + std::string(e.name) + "\"");
      }
    }
    if (!date) return Coded(40539, "missing 'date' argument to " + std::string(op) + ", provided: " + Shown(arg));
    return ExprPtr(std::make_unique<DatePartExpr>(std::string(op), std::move(date), std::move(tz)));
  }
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr date, Expression::Parse(arg, ctx, depth + 1));
  return ExprPtr(std::make_unique<DatePartExpr>(std::string(op), std::move(date), nullptr));
}

// ---- formatting ------------------------------------------------------------------------------

std::string Pad(int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*lld", width, static_cast<long long>(v));
  return buf;
}

Status CheckFormat(std::string_view fmt) {
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') continue;
    if (i + 1 == fmt.size()) return Coded(18535, "Unmatched '%' at end of format string");
    char c = fmt[++i];
    if (std::string_view("dGHjLmMSwuUVYzZ%").find(c) == std::string_view::npos) {
      return Coded(18536, "Invalid format character '%" + std::string(1, c) + "' in format string");
    }
  }
  return Status::OK();
}

std::string FormatDate(int64_t utc, std::string_view fmt, const TimeZone& tz) {
  Civil c = ToCivil(Local(utc, tz));
  int64_t iso_year;
  int iso_week;
  IsoWeek(c, &iso_year, &iso_week);
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      out.push_back(fmt[i]);
      continue;
    }
    switch (fmt[++i]) {
      case 'd': out += Pad(c.day, 2); break;
      case 'G': out += Pad(iso_year, 4); break;
      case 'H': out += Pad(c.hour, 2); break;
      case 'j': out += Pad(c.doy, 3); break;
      case 'L': out += Pad(c.millis, 3); break;
      case 'm': out += Pad(c.month, 2); break;
      case 'M': out += Pad(c.minute, 2); break;
      case 'S': out += Pad(c.second, 2); break;
      case 'w': out += std::to_string(c.dow); break;
      case 'u': out += std::to_string(IsoDow(c)); break;
      case 'U': out += Pad((c.doy - c.dow + 7) / 7, 2); break;
      case 'V': out += Pad(iso_week, 2); break;
      case 'Y': out += Pad(c.year, 4); break;
      case 'z': {
        int32_t minutes = tz.OffsetSecondsAt(utc) / 60;
        int32_t a = minutes < 0 ? -minutes : minutes;
        out += (minutes < 0 ? "-" : "+") + Pad(a / 60, 2) + Pad(a % 60, 2);
        break;
      }
      case 'Z': out += std::to_string(tz.OffsetSecondsAt(utc) / 60); break;
      case '%': out.push_back('%'); break;
      default: break;
    }
  }
  return out;
}

class DateToStringExpr final : public Expression {
 public:
  explicit DateToStringExpr(std::vector<ExprPtr> s) : s_(std::move(s)) {}  // date format timezone onNull
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue d, s_[0]->Evaluate(ctx));
    std::string fmt = "%Y-%m-%dT%H:%M:%S.%LZ";
    if (s_[1]) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue f, s_[1]->Evaluate(ctx));
      if (f.nullish()) return MakeNull();
      if (f.value().type() != BsonType::kString) {
        return Coded(18533, "$dateToString requires that 'format' be a string, found: " +
                                TypeName(f.value()) + " with value " + Shown(f.value()));
      }
      fmt = std::string(f.value().AsString());
      AMALGAM_RETURN_IF_ERROR(CheckFormat(fmt));
    }
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(s_[2], ctx, &tz_null));
    if (tz_null) return MakeNull();
    if (d.nullish()) {
      if (s_[3]) return s_[3]->Evaluate(ctx);
      return MakeNull();
    }
    AMALGAM_ASSIGN_OR_RETURN(int64_t ms, DateMillis(d.value(), "$dateToString"));
    return MakeString(FormatDate(ms, fmt, tz));
  }

 private:
  std::vector<ExprPtr> s_;
};

Result<ExprPtr> ParseDateToString(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  Named n{{"date", "format", "timezone", "onNull"}, {}};
  AMALGAM_RETURN_IF_ERROR(ParseNamedArgs(op, v, ctx, depth, &n, 18629, 18534));
  if (!n.slots[0]) return Coded(18628, "Missing 'date' parameter to $dateToString");
  if (v.AsDocument().Get("format").type() == BsonType::kString) {
    AMALGAM_RETURN_IF_ERROR(CheckFormat(v.AsDocument().Get("format").AsString()));
  }
  return ExprPtr(std::make_unique<DateToStringExpr>(std::move(n.slots)));
}

// ---- parsing ---------------------------------------------------------------------------------

Status ParseError(std::string_view s, std::string_view why) {
  return Status(ErrorCode::kConversionFailure,
                "Error parsing date string '" + std::string(s) + "'; " + std::string(why));
}

// A date string with its own zone and a non-UTC timezone argument (MongoDB refuses both).
Status ZoneConflict(bool zulu) {
  return Status(ErrorCode::kConversionFailure,
                zulu ? "you cannot pass in a date/time string with time zone information ('Z') together with a "
                       "timezone argument"
                     : "you cannot pass in a date/time string with GMT offset together with a timezone argument");
}

// Parses with a format ("%Y-%m-%d" ...): %Y %m %d %H %M %S %L %j %z %Z %%.
Result<int64_t> ParseWithFormat(std::string_view s, std::string_view fmt, const TimeZone& tz) {
  int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0;
  TimeZone zone = tz;
  size_t p = 0;
  auto digits = [&](size_t max, int64_t* out) -> bool {
    size_t start = p;
    int64_t v = 0;
    while (p < s.size() && p - start < max && s[p] >= '0' && s[p] <= '9') v = v * 10 + (s[p++] - '0');
    *out = v;
    return p > start;
  };
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      if (p >= s.size() || s[p] != fmt[i]) return ParseError(s, "format mismatch");
      ++p;
      continue;
    }
    if (++i >= fmt.size()) return Coded(18535, "Unmatched '%' at end of format string");
    bool ok = true;
    switch (fmt[i]) {
      case 'Y': ok = digits(4, &y); break;
      case 'm': ok = digits(2, &mo); break;
      case 'd': ok = digits(2, &d); break;
      case 'H': ok = digits(2, &h); break;
      case 'M': ok = digits(2, &mi); break;
      case 'S': ok = digits(2, &sec); break;
      case 'L': ok = digits(3, &ms); break;
      case 'z':
      case 'Z': {
        if (!tz.utc()) return ZoneConflict(p < s.size() && s[p] == 'Z');
        if (p < s.size() && s[p] == 'Z') {
          zone = TimeZone();
          ++p;
          break;
        }
        size_t start = p;
        if (p < s.size() && (s[p] == '+' || s[p] == '-')) ++p;
        if (fmt[i] == 'Z') {  // minutes east of UTC ("+285", "-300")
          int64_t minutes = 0;
          if (p == start || !digits(4, &minutes) || minutes >= 100 * 60) return ParseError(s, "invalid time zone");
          zone = TimeZone::Fixed(static_cast<int32_t>((s[start] == '-' ? -60 : 60) * minutes));
          break;
        }
        while (p < s.size() && ((s[p] >= '0' && s[p] <= '9') || s[p] == ':')) ++p;
        Result<TimeZone> off = ResolveTimezone(s.substr(start, p - start));
        if (!off.ok()) return ParseError(s, "invalid time zone");
        zone = *off;
        break;
      }
      case '%': ok = p < s.size() && s[p++] == '%'; break;
      default: return Coded(18536, "Invalid format character '%" + std::string(1, fmt[i]) + "' in format string");
    }
    if (!ok) return ParseError(s, "format mismatch");
  }
  if (p != s.size()) return ParseError(s, "trailing data");
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) {
    return ParseError(s, "a field is out of range");
  }
  int64_t local = DaysFromCivil(y, mo, d) * kMsPerDay + h * 3600000 + mi * 60000 + sec * 1000 + ms;
  return Utc(local, zone);
}

class DateFromStringExpr final : public Expression {
 public:
  explicit DateFromStringExpr(std::vector<ExprPtr> s) : s_(std::move(s)) {}  // dateString format timezone onError onNull
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue str, s_[0]->Evaluate(ctx));
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(s_[2], ctx, &tz_null));
    ExprValue fmt;
    if (s_[1]) {
      AMALGAM_ASSIGN_OR_RETURN(fmt, s_[1]->Evaluate(ctx));
      if (!fmt.nullish() && fmt.value().type() != BsonType::kString) {
        return Coded(40684, "$dateFromString requires that 'format' be a string, found: " +
                                TypeName(fmt.value()) + " with value " + Shown(fmt.value()));
      }
    }
    if (str.nullish()) {
      if (s_[4]) return s_[4]->Evaluate(ctx);
      return MakeNull();
    }
    if (tz_null || (s_[1] && fmt.nullish())) return MakeNull();
    Result<int64_t> ms = int64_t{0};
    if (str.value().type() != BsonType::kString) {
      ms = Status(ErrorCode::kConversionFailure,
                  "$dateFromString requires that 'dateString' be a string, found: " +
                      TypeName(str.value()) + " with value " + Shown(str.value()));
    } else if (s_[1]) {
      ms = ParseWithFormat(str.value().AsString(), fmt.value().AsString(), tz);
    } else {
      ms = ParseDateString(str.value().AsString(), tz);
    }
    if (!ms.ok()) {
      if (s_[3] && ms.status().code() == ErrorCode::kConversionFailure) return s_[3]->Evaluate(ctx);
      return ms.status();
    }
    return MakeDate(*ms);
  }

 private:
  std::vector<ExprPtr> s_;
};

Result<ExprPtr> ParseDateFromString(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  Named n{{"dateString", "format", "timezone", "onError", "onNull"}, {}};
  AMALGAM_RETURN_IF_ERROR(ParseNamedArgs(op, v, ctx, depth, &n, 40540, 40541));
  if (!n.slots[0]) return Coded(40542, "Missing 'dateString' parameter to $dateFromString");
  return ExprPtr(std::make_unique<DateFromStringExpr>(std::move(n.slots)));
}

// ---- $dateToParts / $dateFromParts -----------------------------------------------------------

class DateToPartsExpr final : public Expression {
 public:
  explicit DateToPartsExpr(std::vector<ExprPtr> s) : s_(std::move(s)) {}  // date timezone iso8601
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue d, s_[0]->Evaluate(ctx));
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(s_[1], ctx, &tz_null));
    bool iso = false;
    if (s_[2]) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue i, s_[2]->Evaluate(ctx));
      if (i.nullish()) return MakeNull();
      if (i.value().type() != BsonType::kBool) {
        return Coded(40521, "iso8601 must evaluate to a bool, found " + TypeName(i.value()));
      }
      iso = i.value().AsBool();
    }
    if (d.nullish() || tz_null) return MakeNull();
    AMALGAM_ASSIGN_OR_RETURN(int64_t ms, DateMillis(d.value(), "$dateToParts"));
    Civil c = ToCivil(Local(ms, tz));
    return Make([&](bson::Builder& b) {
      b.StartDocument("");
      if (iso) {
        int64_t iy;
        int iw;
        IsoWeek(c, &iy, &iw);
        b.AppendInt32("isoWeekYear", static_cast<int32_t>(iy)).AppendInt32("isoWeek", iw).AppendInt32("isoDayOfWeek", IsoDow(c));
      } else {
        b.AppendInt32("year", static_cast<int32_t>(c.year)).AppendInt32("month", c.month).AppendInt32("day", c.day);
      }
      b.AppendInt32("hour", c.hour).AppendInt32("minute", c.minute).AppendInt32("second", c.second).AppendInt32("millisecond", c.millis);
      b.EndDocument();
    });
  }

 private:
  std::vector<ExprPtr> s_;
};

Result<ExprPtr> ParseDateToParts(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  Named n{{"date", "timezone", "iso8601"}, {}};
  AMALGAM_RETURN_IF_ERROR(ParseNamedArgs(op, v, ctx, depth, &n, 40524, 40520));
  if (!n.slots[0]) return Coded(40522, "Missing 'date' parameter to $dateToParts");
  return ExprPtr(std::make_unique<DateToPartsExpr>(std::move(n.slots)));
}

class DateFromPartsExpr final : public Expression {
 public:
  // year month day hour minute second millisecond isoWeekYear isoWeek isoDayOfWeek timezone
  explicit DateFromPartsExpr(std::vector<ExprPtr> s) : s_(std::move(s)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    static constexpr const char* kNames[10] = {"year", "month", "day", "hour", "minute", "second",
                                               "millisecond", "isoWeekYear", "isoWeek", "isoDayOfWeek"};
    int64_t v[10] = {1970, 1, 1, 0, 0, 0, 0, 1970, 1, 1};
    for (int i = 0; i < 10; ++i) {
      if (!s_[i]) continue;
      AMALGAM_ASSIGN_OR_RETURN(ExprValue x, s_[i]->Evaluate(ctx));
      if (x.nullish()) return MakeNull();
      if (!AsInt64Exact(x.value(), &v[i])) {
        return Coded(40515, std::string("'") + kNames[i] + "' must evaluate to an integer, found " +
                                TypeName(x.value()) + " with value " + Shown(x.value()));
      }
      bool year = i == 0 || i == 7;
      if (year && (v[i] < 1 || v[i] > 9999)) {
        return Coded(40523, std::string("'") + kNames[i] + "' must evaluate to an integer in the range 1 to 9999, found " +
                                std::to_string(v[i]));
      }
      if (!year && (v[i] < -32768 || v[i] > 32767)) {
        return Coded(31034, std::string("'") + kNames[i] + "' must evaluate to a value in the range [-32768, 32767]; value " +
                                std::to_string(v[i]) + " is not in range");
      }
    }
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(s_[10], ctx, &tz_null));
    if (tz_null) return MakeNull();
    int64_t days;
    if (s_[7]) {
      // ISO: the Monday of week 1 is the Monday on or before January 4.
      int64_t jan4 = DaysFromCivil(v[7], 1, 4);
      int64_t jan4_iso_dow = ((jan4 + 3) % 7 + 7) % 7 + 1;
      days = jan4 - (jan4_iso_dow - 1) + (v[8] - 1) * 7 + (v[9] - 1);
    } else {
      int64_t months = v[0] * 12 + (v[1] - 1);
      days = DaysFromCivil(FloorDiv(months, 12), months - FloorDiv(months, 12) * 12 + 1, 1) + v[2] - 1;
    }
    int64_t local = days * kMsPerDay + v[3] * 3600000 + v[4] * 60000 + v[5] * 1000 + v[6];
    return MakeDate(Utc(local, tz));
  }

 private:
  std::vector<ExprPtr> s_;
};

Result<ExprPtr> ParseDateFromParts(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  Named n{{"year", "month", "day", "hour", "minute", "second", "millisecond", "isoWeekYear", "isoWeek",
           "isoDayOfWeek", "timezone"},
          {}};
  AMALGAM_RETURN_IF_ERROR(ParseNamedArgs(op, v, ctx, depth, &n, 40519, 40518));
  bool calendar = n.slots[0] || n.slots[1] || n.slots[2];
  bool iso = n.slots[7] || n.slots[8] || n.slots[9];
  if (calendar && iso) {
    return Coded(40489, "$dateFromParts does not allow mixing natural dates with ISO dates");
  }
  if (!n.slots[0] && !n.slots[7]) {
    return Coded(40516, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present");
  }
  return ExprPtr(std::make_unique<DateFromPartsExpr>(std::move(n.slots)));
}

// ---- units: $dateAdd/$dateSubtract/$dateDiff/$dateTrunc --------------------------------------

enum class Unit { kYear, kQuarter, kMonth, kWeek, kDay, kHour, kMinute, kSecond, kMillisecond };

Result<Unit> ParseUnit(const ExprValue& v, std::string_view op) {
  if (v.value().type() != BsonType::kString) {
    return Coded(5439013, std::string(op) + " requires 'unit' to be a string, but got " + TypeName(v.value()));
  }
  static constexpr std::pair<std::string_view, Unit> kUnits[] = {
      {"year", Unit::kYear},     {"quarter", Unit::kQuarter}, {"month", Unit::kMonth},
      {"week", Unit::kWeek},     {"day", Unit::kDay},         {"hour", Unit::kHour},
      {"minute", Unit::kMinute}, {"second", Unit::kSecond},   {"millisecond", Unit::kMillisecond}};
  for (const auto& [n, u] : kUnits) {
    if (n == v.value().AsString()) return u;
  }
  return Coded(5439014, std::string(op) + " parameter 'unit' value parsing failed :: caused by :: unknown time unit value: " +
                            std::string(v.value().AsString()));
}

int64_t FixedMillis(Unit u) {
  switch (u) {
    case Unit::kWeek: return 7 * kMsPerDay;
    case Unit::kDay: return kMsPerDay;
    case Unit::kHour: return 3600000;
    case Unit::kMinute: return 60000;
    case Unit::kSecond: return 1000;
    default: return 1;
  }
}

int64_t MonthsOf(Unit u) { return u == Unit::kYear ? 12 : (u == Unit::kQuarter ? 3 : 1); }
bool IsMonthly(Unit u) { return u == Unit::kYear || u == Unit::kQuarter || u == Unit::kMonth; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

int64_t AddUnits(int64_t utc, Unit u, int64_t amount, const TimeZone& tz) {
  if (u != Unit::kDay && u != Unit::kWeek && !IsMonthly(u)) return utc + amount * FixedMillis(u);
  int64_t local = Local(utc, tz);
  if (!IsMonthly(u)) return Utc(local + amount * FixedMillis(u), tz);
  Civil c = ToCivil(local);
  int64_t months = c.year * 12 + (c.month - 1) + amount * MonthsOf(u);
  int64_t y = FloorDiv(months, 12);
  int m = static_cast<int>(months - y * 12 + 1);
  int d = std::min(c.day, DaysInMonth(y, m));
  int64_t time = local - FloorDiv(local, kMsPerDay) * kMsPerDay;
  return Utc(DaysFromCivil(y, m, d) * kMsPerDay + time, tz);
}

Result<int> StartOfWeek(const ExprPtr& e, const ExprEvalContext& ctx, std::string_view op) {
  if (!e) return 7;  // Sunday (ISO numbering)
  AMALGAM_ASSIGN_OR_RETURN(ExprValue v, e->Evaluate(ctx));
  if (v.value().type() == BsonType::kString) {
    std::string s(v.value().AsString());
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    static constexpr std::string_view kDays[7] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
    for (int i = 0; i < 7; ++i) {
      if (s == kDays[i] || s == kDays[i].substr(0, 3)) return i + 1;
    }
  }
  return Coded(5439015, std::string(op) + " parameter 'startOfWeek' value cannot be recognized as a day of a week: " +
                            Shown(v.value()));
}

// Local days since epoch of the start of the week containing `local_day`.
int64_t WeekStart(int64_t local_day, int start_iso_dow) {
  int iso = static_cast<int>(((local_day + 3) % 7 + 7) % 7) + 1;
  int back = (iso - start_iso_dow + 7) % 7;
  return local_day - back;
}

class DateArithExpr final : public Expression {
 public:
  // startDate unit amount timezone
  DateArithExpr(std::string op, int sign, std::vector<ExprPtr> s) : op_(std::move(op)), sign_(sign), s_(std::move(s)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(std::vector<ExprValue> v, EvalAll3(ctx));
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(s_[3], ctx, &tz_null));
    if (v[0].nullish() || v[1].nullish() || v[2].nullish() || tz_null) return MakeNull();
    if (v[0].value().type() != BsonType::kDate && v[0].value().type() != BsonType::kTimestamp &&
        v[0].value().type() != BsonType::kObjectId) {
      return Coded(5166403, op_ + " requires startDate to be convertible to a date");
    }
    AMALGAM_ASSIGN_OR_RETURN(int64_t start, DateMillis(v[0].value(), op_));
    AMALGAM_ASSIGN_OR_RETURN(Unit u, ParseUnit(v[1], op_));
    int64_t amount;
    if (!AsInt64Exact(v[2].value(), &amount)) {
      return Coded(5166405, op_ + " expects integer amount of time units");
    }
    return MakeDate(AddUnits(start, u, sign_ * amount, tz));
  }

 private:
  Result<std::vector<ExprValue>> EvalAll3(const ExprEvalContext& ctx) const {
    std::vector<ExprValue> v;
    for (int i = 0; i < 3; ++i) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue x, s_[i]->Evaluate(ctx));
      v.push_back(std::move(x));
    }
    return v;
  }
  std::string op_;
  int sign_;
  std::vector<ExprPtr> s_;
};

template <int kSign>
Result<ExprPtr> ParseDateArith(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  Named n{{"startDate", "unit", "amount", "timezone"}, {}};
  AMALGAM_RETURN_IF_ERROR(ParseNamedArgs(op, v, ctx, depth, &n, 5166400, 5166401));
  static constexpr const char* kReq[3] = {"startDate", "unit", "amount"};
  for (int i = 0; i < 3; ++i) {
    if (!n.slots[i]) return Coded(5166402, std::string(op) + " requires '" + kReq[i] + "' to be present");
  }
  return ExprPtr(std::make_unique<DateArithExpr>(std::string(op), kSign, std::move(n.slots)));
}

class DateDiffExpr final : public Expression {
 public:
  explicit DateDiffExpr(std::vector<ExprPtr> s) : s_(std::move(s)) {}  // startDate endDate unit timezone startOfWeek
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    std::vector<ExprValue> v;
    for (int i = 0; i < 3; ++i) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue x, s_[i]->Evaluate(ctx));
      v.push_back(std::move(x));
    }
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(s_[3], ctx, &tz_null));
    if (v[0].nullish() || v[1].nullish() || v[2].nullish() || tz_null) return MakeNull();
    for (int i = 0; i < 2; ++i) {
      BsonType t = v[i].value().type();
      if (t != BsonType::kDate && t != BsonType::kTimestamp && t != BsonType::kObjectId) {
        return Coded(5166307, std::string("$dateDiff requires '") + (i == 0 ? "startDate" : "endDate") +
                                  "' to be a date, but got " + TypeName(v[i].value()));
      }
    }
    AMALGAM_ASSIGN_OR_RETURN(int64_t a, DateMillis(v[0].value(), "$dateDiff"));
    AMALGAM_ASSIGN_OR_RETURN(int64_t b, DateMillis(v[1].value(), "$dateDiff"));
    AMALGAM_ASSIGN_OR_RETURN(Unit u, ParseUnit(v[2], "$dateDiff"));
    int64_t la = Local(a, tz), lb = Local(b, tz);
    if (IsMonthly(u)) {
      Civil ca = ToCivil(la), cb = ToCivil(lb);
      int64_t ma = ca.year * 12 + ca.month - 1, mb = cb.year * 12 + cb.month - 1;
      if (u == Unit::kYear) return MakeInt64(cb.year - ca.year);
      if (u == Unit::kQuarter) return MakeInt64(FloorDiv(mb, 3) - FloorDiv(ma, 3));
      return MakeInt64(mb - ma);
    }
    if (u == Unit::kWeek) {
      AMALGAM_ASSIGN_OR_RETURN(int sow, StartOfWeek(s_[4], ctx, "$dateDiff"));
      int64_t wa = WeekStart(FloorDiv(la, kMsPerDay), sow), wb = WeekStart(FloorDiv(lb, kMsPerDay), sow);
      return MakeInt64((wb - wa) / 7);
    }
    if (u == Unit::kMillisecond) return MakeInt64(b - a);
    int64_t unit = FixedMillis(u);
    int64_t local_diff = FloorDiv(lb, unit) - FloorDiv(la, unit);
    if (u == Unit::kDay) return MakeInt64(local_diff);
    // Boundaries of the wall clock, corrected by the change of offset in whole units (truncated,
    // as MongoDB: a half-hour DST change does not count as an hour).
    int64_t offset_change = int64_t{tz.OffsetSecondsAt(a)} - tz.OffsetSecondsAt(b);
    return MakeInt64(local_diff + offset_change / (unit / 1000));
  }

 private:
  std::vector<ExprPtr> s_;
};

Result<ExprPtr> ParseDateDiff(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  Named n{{"startDate", "endDate", "unit", "timezone", "startOfWeek"}, {}};
  AMALGAM_RETURN_IF_ERROR(ParseNamedArgs(op, v, ctx, depth, &n, 5166301, 5166302));
  static constexpr const char* kReq[3] = {"startDate", "endDate", "unit"};
  for (int i = 0; i < 3; ++i) {
    if (!n.slots[i]) return Coded(5166303, std::string("Missing '") + kReq[i] + "' parameter to $dateDiff");
  }
  return ExprPtr(std::make_unique<DateDiffExpr>(std::move(n.slots)));
}

class DateTruncExpr final : public Expression {
 public:
  explicit DateTruncExpr(std::vector<ExprPtr> s) : s_(std::move(s)) {}  // date unit binSize timezone startOfWeek
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue d, s_[0]->Evaluate(ctx));
    AMALGAM_ASSIGN_OR_RETURN(ExprValue uv, s_[1]->Evaluate(ctx));
    int64_t bin = 1;
    if (s_[2]) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue b, s_[2]->Evaluate(ctx));
      if (b.nullish()) return MakeNull();
      if (!AsInt64Exact(b.value(), &bin) || bin <= 0) {
        return Coded(5439017, "$dateTrunc requires 'binSize' to be a 64-bit integer, but got value '" +
                                  Shown(b.value()) + "' of type " + TypeName(b.value()));
      }
    }
    bool tz_null = false;
    AMALGAM_ASSIGN_OR_RETURN(TimeZone tz, EvalTz(s_[3], ctx, &tz_null));
    if (d.nullish() || uv.nullish() || tz_null) return MakeNull();
    BsonType t = d.value().type();
    if (t != BsonType::kDate && t != BsonType::kTimestamp && t != BsonType::kObjectId) {
      return Coded(5439012, "$dateTrunc requires 'date' to be a date, but got " + TypeName(d.value()));
    }
    AMALGAM_ASSIGN_OR_RETURN(int64_t ms, DateMillis(d.value(), "$dateTrunc"));
    AMALGAM_ASSIGN_OR_RETURN(Unit u, ParseUnit(uv, "$dateTrunc"));
    if (!IsMonthly(u) && u != Unit::kWeek && u != Unit::kDay) {
      // Elapsed-time bins from 2000-01-01T00:00 local, read with that instant's offset.
      constexpr int64_t kRef2000 = 946684800000;
      int64_t ref = kRef2000 - int64_t{tz.OffsetSecondsAt(kRef2000)} * 1000;
      int64_t per;
      if (__builtin_mul_overflow(FixedMillis(u), bin, &per)) return Coded(5439002, "dateTrunc overflowed");
      int64_t into = (ms - ref) % per;
      if (into < 0) into += per;
      return MakeDate(ms - into);
    }
    if (bin > 100000000000) return Coded(5439006, "dateTrunc unsupported binSize value");
    int64_t local = Local(ms, tz);
    // Bins count from the reference 2000-01-01T00:00:00 local.
    const int64_t ref_day = DaysFromCivil(2000, 1, 1);
    if (IsMonthly(u)) {
      Civil c = ToCivil(local);
      int64_t months = (c.year - 2000) * 12 + (c.month - 1);
      int64_t per = MonthsOf(u) * bin;
      int64_t start = FloorDiv(months, per) * per + 2000 * 12;
      int64_t y = FloorDiv(start, 12);
      return MakeDate(Utc(DaysFromCivil(y, static_cast<int>(start - y * 12) + 1, 1) * kMsPerDay, tz));
    }
    int64_t ref = ref_day * kMsPerDay;
    if (u == Unit::kWeek) {
      AMALGAM_ASSIGN_OR_RETURN(int sow, StartOfWeek(s_[4], ctx, "$dateTrunc"));
      ref = WeekStart(ref_day, sow) * kMsPerDay;
    }
    int64_t per = FixedMillis(u) * bin;
    int64_t start = ref + FloorDiv(local - ref, per) * per;
    return MakeDate(Utc(start, tz));
  }

 private:
  std::vector<ExprPtr> s_;
};

Result<ExprPtr> ParseDateTrunc(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  Named n{{"date", "unit", "binSize", "timezone", "startOfWeek"}, {}};
  AMALGAM_RETURN_IF_ERROR(ParseNamedArgs(op, v, ctx, depth, &n, 5439007, 5439008));
  if (!n.slots[0]) return Coded(5439009, "$dateTrunc requires 'date' to be present");
  if (!n.slots[1]) return Coded(5439010, "$dateTrunc requires 'unit' to be present");
  return ExprPtr(std::make_unique<DateTruncExpr>(std::move(n.slots)));
}

constexpr OperatorRow kRows[] = {
    {"$year", ParseDatePart},          {"$month", ParseDatePart},
    {"$dayOfMonth", ParseDatePart},    {"$hour", ParseDatePart},
    {"$minute", ParseDatePart},        {"$second", ParseDatePart},
    {"$millisecond", ParseDatePart},   {"$dayOfYear", ParseDatePart},
    {"$dayOfWeek", ParseDatePart},     {"$week", ParseDatePart},
    {"$isoWeek", ParseDatePart},       {"$isoWeekYear", ParseDatePart},
    {"$isoDayOfWeek", ParseDatePart},  {"$dateToString", ParseDateToString},
    {"$dateFromString", ParseDateFromString}, {"$dateToParts", ParseDateToParts},
    {"$dateFromParts", ParseDateFromParts},   {"$dateAdd", ParseDateArith<1>},
    {"$dateSubtract", ParseDateArith<-1>},    {"$dateDiff", ParseDateDiff},
    {"$dateTrunc", ParseDateTrunc},
};

}  // namespace

Result<int64_t> ParseDateString(std::string_view s, const TimeZone& tz) {
  // YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:]MM]
  auto num = [&](size_t pos, size_t len, int64_t* out) {
    if (pos + len > s.size()) return false;
    int64_t v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int64_t y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  if (!num(0, 4, &y) || s.size() < 10 || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' || !num(8, 2, &d)) {
    return ParseError(s, "expected a date of the form YYYY-MM-DD");
  }
  size_t p = 10;
  TimeZone zone = tz;
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    if (!num(p + 1, 2, &h) || p + 3 >= s.size() || s[p + 3] != ':' || !num(p + 4, 2, &mi)) {
      return ParseError(s, "expected a time of the form HH:MM[:SS[.mmm]]");
    }
    p += 6;
    if (p < s.size() && s[p] == ':') {
      if (!num(p + 1, 2, &sec)) return ParseError(s, "expected seconds");
      p += 3;
      if (p < s.size() && s[p] == '.') {
        size_t start = ++p;
        int64_t frac = 0;
        int digits = 0;
        while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
          if (digits < 3) {
            frac = frac * 10 + (s[p] - '0');
            ++digits;
          }
          ++p;
        }
        if (p == start) return ParseError(s, "expected fractional seconds");
        while (digits < 3) {
          frac *= 10;
          ++digits;
        }
        ms = frac;
      }
    }
  }
  if (p < s.size() && !tz.utc() && (s[p] == 'Z' || s[p] == '+' || s[p] == '-')) {
    return ZoneConflict(s[p] == 'Z');
  }
  if (p < s.size()) {
    if (s[p] == 'Z' && p + 1 == s.size()) {
      zone = TimeZone();
    } else if (s[p] == '+' || s[p] == '-') {
      int64_t zh = 0, zm = 0;
      size_t q = p + 1;
      if (!num(q, 2, &zh)) return ParseError(s, "invalid time zone offset");
      q += 2;
      if (q < s.size() && s[q] == ':') ++q;
      if (q < s.size()) {
        if (!num(q, 2, &zm)) return ParseError(s, "invalid time zone offset");
        q += 2;
      }
      if (q != s.size()) return ParseError(s, "trailing data");
      zone = TimeZone::Fixed(static_cast<int32_t>((s[p] == '-' ? -1 : 1) * (zh * 3600 + zm * 60)));
    } else {
      return ParseError(s, "trailing data");
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, static_cast<int>(mo)) || h > 23 || mi > 59 || sec > 59) {
    return ParseError(s, "a field is out of range");
  }
  int64_t local = DaysFromCivil(y, mo, d) * kMsPerDay + h * 3600000 + mi * 60000 + sec * 1000 + ms;
  return Utc(local, zone);
}

Result<int64_t> ParseDateString(std::string_view s, int32_t tz_offset_minutes, std::string_view) {
  return ParseDateString(s, TimeZone::Fixed(tz_offset_minutes * 60));
}

std::string IsoDateString(int64_t millis) { return FormatDate(millis, "%Y-%m-%dT%H:%M:%S.%LZ", TimeZone()); }

std::span<const OperatorRow> DateOperators() { return kRows; }

}  // namespace amalgam::query::expr_internal
