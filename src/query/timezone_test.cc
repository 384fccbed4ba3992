// Time zones against the system tzdata (Debian package tzdata). Expected instants were computed
// independently (Python's zoneinfo over the same files, and the published transition dates).
#include "query/timezone.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace amalgam::query {
namespace {

constexpr int64_t kSec = 1000;
constexpr int64_t kHour = 3600 * kSec;

TimeZone Zone(std::string_view name) {
  std::optional<TimeZone> tz = SystemTimeZones().Find(name);
  EXPECT_TRUE(tz.has_value()) << name;
  return tz.value_or(TimeZone());
}

// Expects the offset to change from `before` to `after` (seconds) exactly at `at` (UTC seconds).
void ExpectTransition(std::string_view zone, int64_t at, int32_t before, int32_t after) {
  TimeZone tz = Zone(zone);
  EXPECT_EQ(tz.OffsetSecondsAt(at * kSec - 1), before) << zone << " just before " << at;
  EXPECT_EQ(tz.OffsetSecondsAt(at * kSec), after) << zone << " at " << at;
}

TEST(TimeZoneTest, NewYorkChangesAtTheUsDstInstants) {
  ExpectTransition("America/New_York", 1615705200, -5 * 3600, -4 * 3600);  // 2021-03-14T07:00Z
  ExpectTransition("America/New_York", 1636264800, -4 * 3600, -5 * 3600);  // 2021-11-07T06:00Z
}

TEST(TimeZoneTest, ParisChangesAtTheEuDstInstants) {
  ExpectTransition("Europe/Paris", 1616893200, 3600, 7200);  // 2021-03-28T01:00Z
  ExpectTransition("Europe/Paris", 1635642000, 7200, 3600);  // 2021-10-31T01:00Z
}

TEST(TimeZoneTest, LordHoweHasAHalfHourDst) {
  ExpectTransition("Australia/Lord_Howe", 1617462000, 39600, 37800);  // 2021-04-03T15:00Z
  ExpectTransition("Australia/Lord_Howe", 1633188600, 37800, 39600);  // 2021-10-02T15:30Z
}

TEST(TimeZoneTest, FarFutureDatesFollowTheFooterRule) {
  ExpectTransition("America/New_York", 4108690800, -5 * 3600, -4 * 3600);   // 2100-03-14T07:00Z
  ExpectTransition("America/New_York", 4129250400, -4 * 3600, -5 * 3600);   // 2100-11-07T06:00Z
  ExpectTransition("America/New_York", 13575625200, -5 * 3600, -4 * 3600);  // 2400-03-12T07:00Z
  ExpectTransition("America/New_York", 13596184800, -4 * 3600, -5 * 3600);  // 2400-11-05T06:00Z
}

TEST(TimeZoneTest, ZonesWithoutDstAndEtcSigns) {
  EXPECT_EQ(Zone("Asia/Kolkata").OffsetSecondsAt(1625097600 * kSec), 19800);
  EXPECT_EQ(Zone("Asia/Kolkata").OffsetSecondsAt(9000000000 * kSec), 19800);
  // POSIX-style signs: Etc/GMT+5 is five hours west of UTC.
  EXPECT_EQ(Zone("Etc/GMT+5").OffsetSecondsAt(0), -5 * 3600);
  EXPECT_EQ(Zone("Etc/GMT-14").OffsetSecondsAt(0), 14 * 3600);
}

TEST(TimeZoneTest, FixedOffsetsAndUtcAliases) {
  TimeZoneDatabase& db = SystemTimeZones();
  EXPECT_EQ(db.Find("+05:30")->OffsetSecondsAt(0), 19800);
  EXPECT_EQ(db.Find("+0530")->OffsetSecondsAt(0), 19800);
  EXPECT_EQ(db.Find("-08")->OffsetSecondsAt(0), -8 * 3600);
  EXPECT_EQ(db.Find("-08:00")->ToUtc(0), 8 * kHour);
  for (std::string_view utc : {"UTC", "GMT", "Z", "Etc/UTC", "Etc/GMT"}) {
    ASSERT_TRUE(db.Find(utc).has_value()) << utc;
    EXPECT_EQ(db.Find(utc)->OffsetSecondsAt(1615705200 * kSec), 0) << utc;
  }
  EXPECT_EQ(db.Find("+0560")->OffsetSecondsAt(0), 6 * 3600);  // MongoDB does not bound minutes
  for (std::string_view bad : {"+5", "+05:3", "+053", "+05:30:00", "+ab", "-", "+05-30"}) {
    EXPECT_FALSE(db.Find(bad).has_value()) << bad;
  }
}

TEST(TimeZoneTest, RejectsUnknownAndUnsafeNames) {
  TimeZoneDatabase& db = SystemTimeZones();
  for (std::string_view bad :
       {"Mars/Olympus", "../../etc/passwd", "/etc/localtime", "/usr/share/zoneinfo/UTC",
        "Europe/../Europe/Paris", "Europe//Paris", "Europe/", "america/new_york", "zone.tab",
        "localtime", "posixrules", "right/UTC", "posix/Europe/Paris", "America", "",
        "Europe/Paris\n"}) {
    EXPECT_FALSE(db.Find(bad).has_value()) << bad;
  }
}

TEST(TimeZoneTest, LocalToUtcInAGapUsesTheOffsetFromBeforeTheChange) {
  TimeZone ny = Zone("America/New_York");
  const int64_t day = 1615680000 * kSec;  // 2021-03-14T00:00 as a local wall-clock time
  EXPECT_EQ(ny.ToUtc(day + 1 * kHour + 30 * 60 * kSec), 1615703400 * kSec);  // 01:30 EST = 06:30Z
  EXPECT_EQ(ny.ToUtc(day + 2 * kHour + 30 * 60 * kSec),
            1615707000 * kSec);  // 02:30 -> 07:30Z (03:30 EDT)
  EXPECT_EQ(ny.ToUtc(day + 3 * kHour + 30 * 60 * kSec), 1615707000 * kSec);  // 03:30 EDT = 07:30Z
  TimeZone paris = Zone("Europe/Paris");
  const int64_t pday = 1616889600 * kSec;  // 2021-03-28T00:00 local
  EXPECT_EQ(paris.ToUtc(pday + 1 * kHour + 30 * 60 * kSec),
            1616891400 * kSec);  // 01:30 CET = 00:30Z
  EXPECT_EQ(paris.ToUtc(pday + 2 * kHour + 30 * 60 * kSec), 1616895000 * kSec);  // 02:30 -> 01:30Z
  EXPECT_EQ(paris.ToUtc(pday + 3 * kHour + 30 * 60 * kSec),
            1616895000 * kSec);  // 03:30 CEST = 01:30Z
}

TEST(TimeZoneTest, LocalToUtcInAnOverlapFollowsTimelib) {
  TimeZone ny = Zone("America/New_York");
  const int64_t day = 1636243200 * kSec;                         // 2021-11-07T00:00 local
  EXPECT_EQ(ny.ToUtc(day + 30 * 60 * kSec), 1636259400 * kSec);  // 00:30 EDT = 04:30Z
  EXPECT_EQ(ny.ToUtc(day + 1 * kHour + 30 * 60 * kSec), 1636263000 * kSec);  // 01:30 -> EDT 05:30Z
  EXPECT_EQ(ny.ToUtc(day + 2 * kHour + 30 * 60 * kSec), 1636270200 * kSec);  // 02:30 EST = 07:30Z
  TimeZone paris = Zone("Europe/Paris");
  const int64_t pday = 1635638400 * kSec;  // 2021-10-31T00:00 local
  EXPECT_EQ(paris.ToUtc(pday + 1 * kHour + 30 * 60 * kSec),
            1635636600 * kSec);  // 01:30 CEST = 23:30Z
  EXPECT_EQ(paris.ToUtc(pday + 2 * kHour + 30 * 60 * kSec),
            1635643800 * kSec);  // 02:30 -> CET 01:30Z
  EXPECT_EQ(paris.ToUtc(pday + 3 * kHour + 30 * 60 * kSec),
            1635647400 * kSec);  // 03:30 CET = 02:30Z
}

TEST(TimeZoneTest, LocalRoundTripsAwayFromTransitions) {
  for (std::string_view name : {"America/New_York", "Europe/Paris", "Australia/Lord_Howe",
                                "Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham"}) {
    TimeZone tz = Zone(name);
    for (int64_t t = -2000000000; t < 5000000000; t += 7777777) {
      int64_t ms = t * kSec + 123;
      int64_t local = tz.ToLocal(ms);
      // Skip the hours around a transition, where local times repeat.
      if (tz.OffsetSecondsAt(ms - 3 * kHour) != tz.OffsetSecondsAt(ms + 3 * kHour)) continue;
      EXPECT_EQ(tz.ToUtc(local), ms) << name << " " << t;
    }
  }
}

TEST(TimeZoneTest, ParsesPosixRules) {
  Result<ZoneRules::PosixRule> us = ZoneRules::ParsePosixRule("EST5EDT,M3.2.0,M11.1.0");
  ASSERT_TRUE(us.ok()) << us.status().ToString();
  EXPECT_EQ(us->std_offset, -5 * 3600);
  EXPECT_EQ(us->dst_offset, -4 * 3600);
  EXPECT_EQ(us->start.month, 3);
  EXPECT_EQ(us->start.week, 2);
  EXPECT_EQ(us->end.time, 7200);
  Result<ZoneRules::PosixRule> lh =
      ZoneRules::ParsePosixRule("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  ASSERT_TRUE(lh.ok()) << lh.status().ToString();
  EXPECT_EQ(lh->std_offset, 37800);
  EXPECT_EQ(lh->dst_offset, 39600);
  Result<ZoneRules::PosixRule> v3 = ZoneRules::ParsePosixRule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  EXPECT_EQ(v3->start.time, -3600);
  Result<ZoneRules::PosixRule> ist = ZoneRules::ParsePosixRule("IST-5:30");
  ASSERT_TRUE(ist.ok());
  EXPECT_FALSE(ist->has_dst);
  EXPECT_EQ(ist->std_offset, 19800);
  for (std::string_view bad : {"", "E5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0",
                               "EST5EDT,M3.2.0,M11.1.0x", "<+05", "EST99"}) {
    EXPECT_FALSE(ZoneRules::ParsePosixRule(bad).ok()) << bad;
  }
}

// A minimal version 2 file: one time type, no transitions, only the footer rule (like the
// "slim" files zic writes by default).
std::string FooterOnlyTzif(std::string_view footer) {
  auto be32 = [](std::string* out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out->push_back(static_cast<char>((v >> shift) & 0xff));
  };
  auto block = [&](std::string* out) {
    out->append("TZif2");
    out->append(15, '\0');
    for (uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u})
      be32(out, count);                           // isut isstd leap time type char
    be32(out, static_cast<uint32_t>(-5 * 3600));  // utoff
    out->push_back('\0');                         // isdst
    out->push_back('\0');                         // desigidx
    out->append("EST", 4);
  };
  std::string out;
  block(&out);
  block(&out);
  out.push_back('\n');
  out.append(footer);
  out.push_back('\n');
  return out;
}

TEST(TimeZoneTest, AFooterOnlyFileFollowsItsRuleEveryYear) {
  Result<std::unique_ptr<ZoneRules>> rules =
      ZoneRules::ParseTzif(FooterOnlyTzif("EST5EDT,M3.2.0,M11.1.0"));
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  TimeZone tz = TimeZone::Zone(rules->get());
  for (int64_t at : {int64_t{1615705200}, int64_t{4108690800},
                     int64_t{13575625200}}) {  // 2021, 2100, 2400 spring forward
    EXPECT_EQ(tz.OffsetSecondsAt(at * kSec - 1), -5 * 3600) << at;
    EXPECT_EQ(tz.OffsetSecondsAt(at * kSec), -4 * 3600) << at;
  }
  EXPECT_EQ(tz.OffsetSecondsAt(1636264800 * kSec - 1), -4 * 3600);  // 2021 fall back
  EXPECT_EQ(tz.OffsetSecondsAt(1636264800 * kSec), -5 * 3600);
  // Gap and overlap through the footer's periods, as with a full table.
  EXPECT_EQ(tz.ToUtc((1615680000 + 9000) * kSec), 1615707000 * kSec);  // 02:30 in the gap
  EXPECT_EQ(tz.ToUtc((1636243200 + 5400) * kSec), 1636263000 * kSec);  // 01:30, first (EDT)
  EXPECT_FALSE(ZoneRules::ParseTzif(FooterOnlyTzif("EST5EDT,M3.2.0")).ok());
  Result<std::unique_ptr<ZoneRules>> fixed = ZoneRules::ParseTzif(FooterOnlyTzif("EST5"));
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(TimeZone::Zone(fixed->get()).OffsetSecondsAt(4108690800 * kSec), -5 * 3600);
}

TEST(TimeZoneTest, MalformedTzifIsAnErrorNotACrash) {
  std::ifstream in("/usr/share/zoneinfo/Europe/Paris", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  ASSERT_GT(bytes.size(), 100u);
  ASSERT_TRUE(ZoneRules::ParseTzif(bytes).ok());
  // Every truncation short of the footer fails cleanly.
  for (size_t n = 0; n + 1 < bytes.size(); n += (n < 200 ? 1 : 37)) {
    EXPECT_FALSE(ZoneRules::ParseTzif(std::string_view(bytes).substr(0, n)).ok()) << n;
  }
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_FALSE(ZoneRules::ParseTzif(bad_magic).ok());
  // Flipped bytes anywhere never crash (they may or may not parse).
  for (size_t i = 0; i < bytes.size(); i += 13) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0xff);
    (void)ZoneRules::ParseTzif(flipped).ok();
  }
}

TEST(TimeZoneTest, ZonesAreReadOnceThenServedFromTheCache) {
  std::string dir = ::testing::TempDir() + "tzcache_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/Europe");
  std::filesystem::copy_file("/usr/share/zoneinfo/Europe/Paris", dir + "/Europe/Paris",
                             std::filesystem::copy_options::overwrite_existing);
  TimeZoneDatabase db(dir);
  ASSERT_TRUE(db.Find("Europe/Paris").has_value());
  std::filesystem::remove_all(dir);
  // The file is gone: the second lookup can only come from the cache.
  std::optional<TimeZone> again = db.Find("Europe/Paris");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->OffsetSecondsAt(1625097600 * kSec), 7200);
  EXPECT_FALSE(db.Find("Europe/Berlin").has_value());
}

TEST(TimeZoneTest, ConcurrentLookupsShareOneLoad) {
  TimeZoneDatabase db("/usr/share/zoneinfo");
  const std::vector<std::string> names = {"Europe/Paris", "America/New_York", "Asia/Tokyo",
                                          "Australia/Lord_Howe", "Africa/Cairo"};
  std::vector<std::thread> threads;
  std::vector<std::vector<int32_t>> seen(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        for (const std::string& n : names) {
          std::optional<TimeZone> tz = db.Find(n);
          seen[t].push_back(tz ? tz->OffsetSecondsAt(1625097600 * kSec) : -1);
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 1; t < 4; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(seen[0][0], 7200);       // Paris in July
  EXPECT_EQ(seen[0][1], -4 * 3600);  // New York in July
}

}  // namespace
}  // namespace amalgam::query
