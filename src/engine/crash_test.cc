// Crash test: a child process commits a stream of writes and reports each acknowledged one;
// it is killed with SIGKILL at a random moment; after reopening, every acknowledged write is
// present, a transaction is all there or not at all, indexes agree with documents, and the
// change log has no gap. Several rounds on the same directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "bson/builder.h"
#include "engine/engine.h"
#include "storage/key_codec.h"
#include "storage/test_dir.h"

extern char** environ;

namespace amalgam::engine {
namespace {

struct Expectation {
  std::map<int64_t, int64_t> present;  // id -> minimum v
  std::set<int64_t> deleted;
  std::vector<std::vector<int64_t>> unacked_txns;
};

// Runs the child until `run_for` elapses, then SIGKILLs it; returns what it acknowledged.
std::string RunAndKill(const std::string& dir, int64_t start, std::chrono::milliseconds run_for) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string start_s = std::to_string(start);
  std::string child = CRASH_CHILD;
  char* argv[] = {child.data(), const_cast<char*>(dir.c_str()), start_s.data(), nullptr};
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, child.c_str(), &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + run_for;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 10) > 0) {
      ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  kill(pid, SIGKILL);
  // Lines written before the kill are acknowledged writes: drain the pipe.
  while (true) {
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "child exited on its own with status " << status;
  return out;
}

void Apply(const std::string& acks, Expectation* e) {
  std::istringstream in(acks);
  std::string line;
  std::map<int64_t, std::vector<int64_t>> open_txns;
  while (std::getline(in, line)) {
    if (in.eof() && !acks.empty() && acks.back() != '\n') break;  // a torn last line
    std::istringstream l(line);
    char op;
    l >> op;
    if (op == 'I') {
      int64_t id;
      l >> id;
      e->present[id] = 0;
    } else if (op == 'U') {
      int64_t id, v;
      l >> id >> v;
      if (e->present.count(id)) e->present[id] = v;
    } else if (op == 'D') {
      int64_t id;
      l >> id;
      e->present.erase(id);
      e->deleted.insert(id);
    } else if (op == 'B' || op == 'T') {
      int64_t a, b, c;
      l >> a >> b >> c;
      if (op == 'B') {
        open_txns[a] = {a, b, c};
      } else {
        open_txns.erase(a);
        for (int64_t id : {a, b, c}) e->present[id] = 0;
      }
    }
  }
  for (auto& [k, ids] : open_txns) e->unacked_txns.push_back(ids);
}

std::optional<int64_t> ValueOf(Engine& engine, const CollectionHandle& h, int64_t id) {
  bson::Builder b;
  b.AppendInt64("_id", id);
  bson::Document d = std::move(b).Finish();
  auto doc = engine.Read()->Get(h, d.view().Get("_id"));
  EXPECT_TRUE(doc.ok());
  if (!doc.ok() || !doc.value()) return std::nullopt;
  return doc.value()->view().Get("v").AsInt64();
}

TEST(CrashTest, AcknowledgedWritesSurviveKill9AndTheLogHasNoGap) {
  storage::TestDir dir;
  uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("AMALGAM_TEST_SEED")) seed = std::strtoull(s, nullptr, 10);
  std::printf("CrashTest seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  Expectation expect;
  for (int round = 0; round < 4; ++round) {
    auto run_for = std::chrono::milliseconds(300 + static_cast<int>(rng() % 700));
    std::string acks = RunAndKill(dir.path(), 1 + round * 100000, run_for);
    Apply(acks, &expect);
    ASSERT_GT(expect.present.size(), 0u) << "round " << round << ": the child acknowledged nothing";

    auto engine = Engine::Open(dir.path(), EngineOptions{});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    HandlePtr h = (*engine)->Find("db", "c");
    ASSERT_NE(h, nullptr);
    for (const auto& [id, v] : expect.present) {
      auto got = ValueOf(**engine, *h, id);
      ASSERT_TRUE(got.has_value()) << "round " << round << ": acknowledged document " << id << " is missing";
      EXPECT_GE(*got, v) << "round " << round << ": acknowledged update of " << id << " is missing";
    }
    for (int64_t id : expect.deleted) {
      EXPECT_FALSE(ValueOf(**engine, *h, id).has_value()) << "acknowledged delete of " << id << " came back";
    }
    for (const auto& ids : expect.unacked_txns) {
      int n = 0;
      for (int64_t id : ids) n += ValueOf(**engine, *h, id).has_value();
      EXPECT_TRUE(n == 0 || n == 3) << "a transaction was torn: " << n << " of 3 documents present";
      if (n == 3) {
        for (int64_t id : ids) expect.present[id] = 0;
      }
    }
    expect.unacked_txns.clear();
    auto report = (*engine)->Validate("db", "c");
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    for (const std::string& err : report->errors) ADD_FAILURE() << "round " << round << ": " << err;
    // The change log: sequence numbers 1..last with no gap.
    uint64_t last = (*engine)->store().LastVisibleSeq();
    auto it = (*engine)->store().NewIterator(storage::Cf::kChangeLog, "", "");
    uint64_t expect_seq = 1;
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++expect_seq) {
      ASSERT_EQ(storage::ReadUint64BE(it->key()), expect_seq) << "gap in the change log";
    }
    EXPECT_EQ(expect_seq - 1, last);
  }
}

}  // namespace
}  // namespace amalgam::engine
