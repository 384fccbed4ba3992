// engine_crash_child DIR START_ID: commits a stream of writes to DIR and reports each one on
// stdout once its commit has returned ("I id", "U id v", "D id", "B a b c" before and
// "T a b c" after a three-document transaction), until it is killed. Used by crash_test.cc.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bson/builder.h"
#include "bson/json.h"
#include "common/logging.h"
#include "engine/engine.h"

using namespace amalgam;

namespace {

bson::Document Doc(int64_t id, int64_t v) {
  bson::Builder b;
  b.AppendInt64("_id", id).AppendInt64("k", id).AppendInt64("v", v);
  b.StartArray("tags").AppendString("0", "t" + std::to_string(id % 5)).AppendString("1", "all").EndArray();
  b.AppendString("pad", std::string(static_cast<size_t>(50 + id % 200), 'x'));
  return std::move(b).Finish();
}

bson::Document IdOf(int64_t id) {
  bson::Builder b;
  b.AppendInt64("_id", id);
  return std::move(b).Finish();
}

void Die(const Status& s) {
  std::fprintf(stderr, "crash_child: %s\n", s.ToString().c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: engine_crash_child DIR START_ID\n");
    return 2;
  }
  SetLogLevel(LogLevel::kWarning);
  auto engine = engine::Engine::Open(argv[1], engine::EngineOptions{});
  if (!engine.ok()) Die(engine.status());
  engine::Engine& e = **engine;
  auto k = bson::FromJson(R"({"key": {"k": 1}, "name": "k_1", "unique": true})").value();
  auto tags = bson::FromJson(R"({"key": {"tags": 1, "v": -1}, "name": "tags_v"})").value();
  if (auto r = e.CreateIndex("db", "c", k.view()); !r.ok()) Die(r.status());
  if (auto r = e.CreateIndex("db", "c", tags.view()); !r.ok()) Die(r.status());
  engine::HandlePtr h = e.Find("db", "c");
  int64_t start = std::atoll(argv[2]);
  for (int64_t i = start;; ++i) {
    Status s;
    if (i % 11 == 0) {
      std::printf("B %lld %lld %lld\n", (long long)i, (long long)i + 1000000000, (long long)i + 2000000000);
      std::fflush(stdout);
      s = e.RunWrite([&](engine::WriteTxn& t) -> Status {
         for (int64_t id : {i, i + 1000000000, i + 2000000000}) AMALGAM_RETURN_IF_ERROR(t.Insert(*h, Doc(id, 0).view()));
         return Status::OK();
       }).status();
      if (!s.ok()) Die(s);
      std::printf("T %lld %lld %lld\n", (long long)i, (long long)i + 1000000000, (long long)i + 2000000000);
    } else if (i % 3 == 0 && i > start + 1) {
      int64_t target = i - 1;
      s = e.RunWrite([&](engine::WriteTxn& t) -> Status {
         bson::Document id = IdOf(target);
         auto before = t.Get(*h, id.view().Get("_id"), true);
         if (!before.ok()) return before.status();
         if (!before.value()) return Status::OK();
         return t.Update(*h, before.value()->view(), Doc(target, i).view(), storage::ChangeOp::kReplace);
       }).status();
      if (!s.ok()) Die(s);
      std::printf("U %lld %lld\n", (long long)target, (long long)i);
    } else if (i % 7 == 0 && i > start + 2) {
      int64_t target = i - 2;
      s = e.RunWrite([&](engine::WriteTxn& t) -> Status {
         bson::Document id = IdOf(target);
         auto before = t.Get(*h, id.view().Get("_id"), true);
         if (!before.ok()) return before.status();
         if (!before.value()) return Status::OK();
         return t.Delete(*h, before.value()->view());
       }).status();
      if (!s.ok()) Die(s);
      std::printf("D %lld\n", (long long)target);
    } else {
      s = e.RunWrite([&](engine::WriteTxn& t) { return t.Insert(*h, Doc(i, 0).view()); }).status();
      if (!s.ok()) Die(s);
      std::printf("I %lld\n", (long long)i);
    }
    std::fflush(stdout);
  }
}
