#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace rlhf {
namespace {

int64_t spinMicros();

struct Job {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;
  int64_t chunk = 1;
  std::atomic<int64_t> next{0};
};

class Pool {
 public:
  explicit Pool(int n) { start(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    start(n);
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    const int threads = size();
    if (threads == 1 || n <= grain) {
      fn(0, n);
      return;
    }
    // About 4 chunks per thread balances uneven work without much counter traffic.
    int64_t chunk = std::max<int64_t>(grain, (n + 4 * threads - 1) / (4 * threads));
    std::lock_guard<std::mutex> serial(runMutex_);  // one parallel region at a time (JS calls are serial anyway)
    job_.fn = &fn;
    job_.n = n;
    job_.chunk = chunk;
    job_.next.store(0, std::memory_order_relaxed);
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(m_);
      generation_++;
    }
    cv_.notify_all();
    work();
    // Wait for the workers to leave the job before it goes out of scope.
    while (pending_.load(std::memory_order_acquire) > 0) std::this_thread::yield();
  }

 private:
  void work() {
    for (;;) {
      int64_t b = job_.next.fetch_add(job_.chunk, std::memory_order_relaxed);
      if (b >= job_.n) break;
      (*job_.fn)(b, std::min(job_.n, b + job_.chunk));
    }
  }

  void loop() {
    uint64_t seen = 0;
    for (;;) {
      // Spin a while before sleeping: kernels come in quick succession (generation: one every ~100 µs
      // with JS in between), and waking a sleeping thread costs tens of µs on this VM.
      auto spinUntil = std::chrono::steady_clock::now() + std::chrono::microseconds(spinMicros());
      while (generation_.load(std::memory_order_acquire) == seen && !quit_.load() &&
             std::chrono::steady_clock::now() < spinUntil) {
        std::this_thread::yield();
      }
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_.load() != seen || quit_.load(); });
      }
      if (quit_.load()) return;
      seen = generation_.load();
      work();
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  void start(int n) {
    quit_ = false;
    generation_ = 0;
    for (int i = 1; i < n; i++) workers_.emplace_back([this] { loop(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex m_, runMutex_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> quit_{false};
  std::atomic<int> pending_{0};
  Job job_;
};

/** How long an idle worker spins before it sleeps (RLHF_NATIVE_SPIN_US, default 200; 1000 and 3000 measured no better on M generation). */
int64_t spinMicros() {
  static const int64_t us = [] {
    const char* env = std::getenv("RLHF_NATIVE_SPIN_US");
    return env ? std::max<int64_t>(0, std::atoll(env)) : 200;
  }();
  return us;
}

int defaultThreads() {
  if (const char* env = std::getenv("RLHF_NATIVE_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

Pool& pool() {
  static Pool p(defaultThreads());
  return p;
}

}  // namespace

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  pool().run(n, std::max<int64_t>(1, grain), fn);
}

int numThreads() { return pool().size(); }

void setNumThreads(int n) { pool().resize(std::max(1, n)); }

}  // namespace rlhf
