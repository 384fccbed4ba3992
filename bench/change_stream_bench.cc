// change_stream_bench: change-stream delivery latency and the write cost of open streams,
// against a running amalgamd over the MongoDB wire protocol (libmongoc). Results:
// docs/benchmarks.md ("Change streams").
//
// latency   W writer threads insert {_id: n} at a paced total rate (--rate, default 5,000/s) for
//           --measure-ms; each writer stamps the moment its insert is acknowledged. One watcher
//           thread reads a change stream on the collection (awaitData getMores,
//           maxAwaitTimeMS 1000) and stamps the moment each event arrives. Delivery latency =
//           arrival - acknowledgement (0 when the event arrives before the writer has seen its
//           acknowledgement). Every insert must arrive exactly once.
// cost      closed-loop inserts on --conns connections for --measure-ms, with 0 and then with
//           --streams open change streams on the collection (each drained by its own thread);
//           rounds interleave (none, streams, none, streams) and the best round of each counts.
//
// Bounds: every loop stops at its deadline; only the URI given is contacted.
// Usage: change_stream_bench --mongo URI [--rate 5000] [--writers 4] [--measure-ms 5000]
//                            [--conns 8] [--streams 4]
#include <mongoc/mongoc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

struct Args {
  std::string uri = "mongodb://127.0.0.1:27017/?directConnection=true";
  int rate = 5000;
  int writers = 4;
  int measure_ms = 5000;
  int conns = 8;
  int streams = 4;
};

mongoc_client_t* Connect(const Args& a) {
  mongoc_client_t* c = mongoc_client_new(a.uri.c_str());
  if (!c) {
    std::fprintf(stderr, "bad URI %s\n", a.uri.c_str());
    std::exit(2);
  }
  return c;
}

bool Insert(mongoc_collection_t* coll, int64_t id) {
  bson_t doc = BSON_INITIALIZER;
  BSON_APPEND_INT64(&doc, "_id", id);
  BSON_APPEND_UTF8(&doc, "pad", "change-stream benchmark document ................................");
  bson_error_t err;
  bool ok = mongoc_collection_insert_one(coll, &doc, nullptr, nullptr, &err);
  if (!ok) std::fprintf(stderr, "insert: %s\n", err.message);
  bson_destroy(&doc);
  return ok;
}

mongoc_change_stream_t* Watch(mongoc_collection_t* coll) {
  bson_t pipeline = BSON_INITIALIZER;
  bson_t opts = BSON_INITIALIZER;
  BSON_APPEND_INT64(&opts, "maxAwaitTimeMS", 1000);
  mongoc_change_stream_t* s = mongoc_collection_watch(coll, &pipeline, &opts);
  bson_destroy(&pipeline);
  bson_destroy(&opts);
  return s;
}

void DropCollection(const Args& a, const char* name) {
  mongoc_client_t* c = Connect(a);
  mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", name);
  bson_error_t err;
  mongoc_collection_drop(coll, &err);  // missing is fine
  mongoc_collection_destroy(coll);
  mongoc_client_destroy(c);
}

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i] / 1e6;
}

void Latency(const Args& a) {
  DropCollection(a, "lat");
  const int64_t total = static_cast<int64_t>(a.rate) * a.measure_ms / 1000;
  std::vector<std::atomic<int64_t>> ack(total), got(total);
  std::atomic<bool> watching{false}, stop_watch{false};
  std::atomic<int64_t> duplicates{0};
  std::thread watcher([&] {
    mongoc_client_t* c = Connect(a);
    mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", "lat");
    mongoc_change_stream_t* s = Watch(coll);
    const bson_t* ev;
    mongoc_change_stream_next(s, &ev);  // opens the stream (empty first batch)
    watching = true;
    auto deadline = Clock::now() + std::chrono::milliseconds(a.measure_ms + 10000);
    while (!stop_watch && Clock::now() < deadline) {
      if (!mongoc_change_stream_next(s, &ev)) {
        const bson_t* err_doc;
        bson_error_t err;
        if (mongoc_change_stream_error_document(s, &err, &err_doc)) {
          std::fprintf(stderr, "stream: %s\n", err.message);
          break;
        }
        continue;
      }
      int64_t now = NowNs();
      bson_iter_t it;
      if (bson_iter_init(&it, ev) && bson_iter_find_descendant(&it, "documentKey._id", &it)) {
        int64_t id = bson_iter_as_int64(&it);
        if (id >= 0 && id < total) {
          int64_t zero = 0;
          if (!got[id].compare_exchange_strong(zero, now)) duplicates++;
        }
      }
    }
    mongoc_change_stream_destroy(s);
    mongoc_collection_destroy(coll);
    mongoc_client_destroy(c);
  });
  while (!watching) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<std::thread> writers;
  auto start = Clock::now();
  for (int w = 0; w < a.writers; ++w) {
    writers.emplace_back([&, w] {
      mongoc_client_t* c = Connect(a);
      mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", "lat");
      double per_ns = 1e9 * a.writers / a.rate;  // this writer's interval
      for (int64_t i = w, k = 0; i < total; i += a.writers, ++k) {
        auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(k * per_ns + w * per_ns / a.writers));
        std::this_thread::sleep_until(due);
        if (Insert(coll, i)) ack[i] = NowNs();
      }
      mongoc_collection_destroy(coll);
      mongoc_client_destroy(c);
    });
  }
  for (auto& t : writers) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  auto wait_until = Clock::now() + std::chrono::seconds(10);
  auto all_in = [&] {
    for (int64_t i = 0; i < total; ++i) {
      if (ack[i] && !got[i]) return false;
    }
    return true;
  };
  while (!all_in() && Clock::now() < wait_until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop_watch = true;
  watcher.join();
  std::vector<int64_t> lat;
  int64_t acked = 0, missing = 0;
  for (int64_t i = 0; i < total; ++i) {
    if (!ack[i]) continue;
    ++acked;
    if (!got[i]) {
      ++missing;
      continue;
    }
    lat.push_back(std::max<int64_t>(0, got[i] - ack[i]));
  }
  std::printf("latency: %lld writes in %.2f s (%.0f/s), events %zu, missing %lld, duplicates %lld\n",
              static_cast<long long>(acked), secs, acked / secs, lat.size(), static_cast<long long>(missing),
              static_cast<long long>(duplicates.load()));
  std::printf("latency: delivery after ack p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", Percentile(lat, 0.50),
              Percentile(lat, 0.99), lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()) / 1e6);
}

double Throughput(const Args& a, int streams, int round) {
  std::string name = "tp" + std::to_string(round) + "_" + std::to_string(streams);
  DropCollection(a, name.c_str());
  std::atomic<bool> stop{false};
  std::atomic<int> open{0};
  std::atomic<int64_t> delivered{0};
  std::vector<std::thread> watchers;
  for (int s = 0; s < streams; ++s) {
    watchers.emplace_back([&] {
      mongoc_client_t* c = Connect(a);
      mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", name.c_str());
      mongoc_change_stream_t* cs = Watch(coll);
      const bson_t* ev;
      mongoc_change_stream_next(cs, &ev);
      open++;
      auto deadline = Clock::now() + std::chrono::milliseconds(a.measure_ms + 10000);
      while (!stop && Clock::now() < deadline) {
        if (mongoc_change_stream_next(cs, &ev)) delivered++;
      }
      mongoc_change_stream_destroy(cs);
      mongoc_collection_destroy(coll);
      mongoc_client_destroy(c);
    });
  }
  while (open < streams) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::atomic<int64_t> ops{0};
  std::vector<std::thread> writers;
  auto start = Clock::now();
  auto end = start + std::chrono::milliseconds(a.measure_ms);
  for (int w = 0; w < a.conns; ++w) {
    writers.emplace_back([&, w] {
      mongoc_client_t* c = Connect(a);
      mongoc_collection_t* coll = mongoc_client_get_collection(c, "csbench", name.c_str());
      for (int64_t i = w; Clock::now() < end; i += a.conns) {
        if (Insert(coll, i)) ops++;
      }
      mongoc_collection_destroy(coll);
      mongoc_client_destroy(c);
    });
  }
  for (auto& t : writers) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  for (auto& t : watchers) t.join();
  double rate = ops / secs;
  std::printf("cost: round %d, %d streams: %.0f inserts/s on %d connections (events delivered %lld)\n", round, streams,
              rate, a.conns, static_cast<long long>(delivered.load()));
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--mongo") a.uri = v;
    else if (k == "--rate") a.rate = std::atoi(v.c_str());
    else if (k == "--writers") a.writers = std::atoi(v.c_str());
    else if (k == "--measure-ms") a.measure_ms = std::atoi(v.c_str());
    else if (k == "--conns") a.conns = std::atoi(v.c_str());
    else if (k == "--streams") a.streams = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (a.rate < 1 || a.writers < 1 || a.measure_ms < 100 || a.conns < 1 || a.streams < 0) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  mongoc_init();
  Latency(a);
  double none = 0, with = 0;
  for (int round = 0; round < 2; ++round) {
    none = std::max(none, Throughput(a, 0, round));
    with = std::max(with, Throughput(a, a.streams, round));
  }
  std::printf("cost: best of 2 rounds: %.0f inserts/s without streams, %.0f with %d (%.1f%%)\n", none, with, a.streams,
              100.0 * with / none);
  DropCollection(a, "lat");
  mongoc_cleanup();
  return 0;
}
