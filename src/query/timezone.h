#pragma once
// Time zones for the aggregation date operators: UTC, fixed UTC offsets ("+05:30", "-0800",
// "+03") and IANA (Olson) zones ("America/New_York", "Europe/Paris", "Etc/GMT+5") read from the
// system's TZif files (RFC 8536, versions 1 to 4; /usr/share/zoneinfo, Debian package tzdata).
//
// A zone gives the UTC offset in effect at an instant (daylight saving time included) and turns
// a local wall-clock time back into an instant. Instants after the last transition stored in a
// file follow the file's POSIX TZ footer rule ("EST5EDT,M3.2.0,M11.1.0"), so far-future dates get
// the right offsets.
//
// Local -> UTC for wall-clock times that do not exist (a spring-forward gap) or exist twice (a
// fall-back overlap) follows timelib, MongoDB's date library (tm2unixtime.c do_adjust_timezone):
// the offset in effect at the local time read as if it were UTC is tried first, then the offset
// in effect at that guess. In a gap the time is read with the offset from before the change
// (New York 02:30 on a spring-forward day is 03:30 EDT). In an overlap the result depends on the
// side of UTC: west of UTC the first occurrence (New York 01:30 on a fall-back day is 01:30 EDT),
// east of UTC the second (Paris 02:30 on a fall-back day is 02:30 CET).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace amalgam::query {

// Calendar arithmetic shared by the zone rules and the date operators.
// a / b rounded toward negative infinity. REQUIRES: b != 0.
int64_t FloorDiv(int64_t a, int64_t b);
// Days since 1970-01-01 of a civil date (proleptic Gregorian; m 1..12, d 1..31).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d);

// The rules of one IANA zone, immutable once parsed: the transition table of a TZif file and its
// POSIX TZ footer.
class ZoneRules {
 public:
  // One DST rule of a POSIX TZ string: the local date and time a change happens.
  struct RuleDate {
    enum class Kind : uint8_t { kJulianNoLeap, kJulianZero, kMonthWeekDay };  // Jn, n, Mm.w.d
    Kind kind = Kind::kMonthWeekDay;
    int day = 0;          // Jn: 1..365; n: 0..365; Mm.w.d: d (0 = Sunday)
    int month = 0;        // Mm.w.d only: 1..12
    int week = 0;         // Mm.w.d only: 1..5 (5 = last)
    int32_t time = 7200;  // seconds after local midnight (may be negative or past 24h in v3)
  };
  // A POSIX TZ string "STDoffset[DST[offset][,start[/time],end[/time]]]".
  struct PosixRule {
    int32_t std_offset = 0;  // seconds east of UTC (the string's sign is the opposite)
    bool has_dst = false;
    int32_t dst_offset = 0;
    RuleDate start, end;
  };

  // Parses a TZif file (all of `bytes`). Uses the 64-bit section of version 2+ files and their
  // footer; version 1 files use the 32-bit section and no footer. Files with leap second
  // records (the "right/" zones) are refused. Errors: kBadValue naming what is malformed; every
  // count is checked against the bytes left, so any input is safe.
  static Result<std::unique_ptr<ZoneRules>> ParseTzif(std::string_view bytes);
  // Parses a POSIX TZ string (the footer of a TZif file). Errors: kBadValue.
  static Result<PosixRule> ParsePosixRule(std::string_view tz);

  // The offset in seconds east of UTC at `utc_seconds`, and when the period with that offset
  // began (INT64_MIN when it began before every known transition).
  struct Period {
    int32_t offset;
    int64_t start;
  };
  Period PeriodAt(int64_t utc_seconds) const;

 private:
  std::vector<int64_t> transitions_;  // UTC seconds, strictly ascending
  std::vector<int32_t> offsets_;      // offset in effect from transitions_[i]
  int32_t initial_offset_ = 0;        // before the first transition (time type 0)
  std::optional<PosixRule> footer_;   // after the last transition
};

// A time zone as the date operators use it: a cheap value, either a fixed offset or a pointer to
// the rules of a zone owned by a TimeZoneDatabase (which must outlive it). The default value is
// UTC. Thread-safe (immutable).
class TimeZone {
 public:
  TimeZone() = default;
  static TimeZone Fixed(int32_t offset_seconds) { return TimeZone(offset_seconds, nullptr); }
  static TimeZone Zone(const ZoneRules* rules) { return TimeZone(0, rules); }

  // Seconds east of UTC at the instant `utc_millis` (ms since the epoch).
  int32_t OffsetSecondsAt(int64_t utc_millis) const;
  // The local wall-clock time at `utc_millis`, as ms since 1970-01-01T00:00 local.
  int64_t ToLocal(int64_t utc_millis) const {
    return utc_millis + int64_t{OffsetSecondsAt(utc_millis)} * 1000;
  }
  // The instant of the local wall-clock time `local_millis`; gaps and overlaps as described at
  // the top of this file.
  int64_t ToUtc(int64_t local_millis) const;
  // True for UTC and fixed offsets.
  bool fixed() const { return rules_ == nullptr; }
  // True for UTC (and its aliases, and a zero fixed offset).
  bool utc() const { return rules_ == nullptr && fixed_ == 0; }

 private:
  TimeZone(int32_t fixed, const ZoneRules* rules) : fixed_(fixed), rules_(rules) {}
  int32_t fixed_ = 0;
  const ZoneRules* rules_ = nullptr;
};

// Resolves MongoDB time zone identifiers, loading each IANA zone from `zoneinfo_dir` once and
// keeping it for the life of the database (the cache holds only names that exist, so it is
// bounded by the zones installed). Thread-safe: lookups of cached zones take a shared lock.
class TimeZoneDatabase {
 public:
  explicit TimeZoneDatabase(std::string zoneinfo_dir) : dir_(std::move(zoneinfo_dir)) {}
  TimeZoneDatabase(const TimeZoneDatabase&) = delete;
  TimeZoneDatabase& operator=(const TimeZoneDatabase&) = delete;

  // "UTC", "GMT", "Z", "Etc/UTC", "Etc/GMT"; "+hh", "-hhmm", "+hh:mm"; or an IANA zone name
  // (case-sensitive, as MongoDB). nullopt when the identifier is none of these: the name has
  // characters other than letters, digits, '_', '-', '+' and '/', is absolute, has an empty
  // component, or no readable TZif file exists under that name.
  std::optional<TimeZone> Find(std::string_view id);

 private:
  const ZoneRules* Load(std::string_view name);

  // Lookups by string_view without building a std::string.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::string dir_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<ZoneRules>, NameHash, std::equal_to<>>
      zones_;  // GUARDED_BY(mu_)
};

// The process's zone database over the system tzdata ($TZDIR, else /usr/share/zoneinfo). Like
// std::chrono::get_tzdb(), the one process-wide instance: the data is read-only system data and
// the expression evaluator has no other owner to hang it on. Created on first use.
TimeZoneDatabase& SystemTimeZones();

}  // namespace amalgam::query
