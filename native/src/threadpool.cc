#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <system_error>
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

// One pool for the process. The addon loaded in worker_threads shares it with the main thread, so the
// JS threads may call run() and resize() concurrently: runMutex_ admits one parallel region at a time
// (the job and the workers are shared), resize() waits for it, and a caller that finds the pool busy runs
// its work on its own thread instead of waiting (same results: the chunks are the same, only serial).
class Pool {
 public:
  explicit Pool(int n) { start(n); }
  ~Pool() { stop(); }

  int size() const { return size_.load(std::memory_order_relaxed); }

  void resize(int n) {
    std::lock_guard<std::mutex> serial(runMutex_);
    stop();
    start(n);
  }

  void run(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (size() == 1 || n <= grain) {
      fn(0, n);
      return;
    }
    std::unique_lock<std::mutex> serial(runMutex_, std::try_to_lock);
    if (!serial.owns_lock() || workers_.empty()) {
      fn(0, n);
      return;
    }
    const int threads = static_cast<int>(workers_.size()) + 1;
    // About 4 chunks per thread balances uneven work without much counter traffic.
    int64_t chunk = std::max<int64_t>(grain, (n + 4 * threads - 1) / (4 * threads));
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
    for (int i = 1; i < n; i++) {
      try {
        workers_.emplace_back([this] { loop(); });
      } catch (const std::system_error&) {
        break;  // the system refused a thread: run with those that started
      }
    }
    size_.store(static_cast<int>(workers_.size()) + 1, std::memory_order_relaxed);
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
  std::atomic<int> size_{1};
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

// Never destroyed: at exit another JS thread (a worker_thread still running) may be inside run(), and
// joining the workers from a static destructor could wait on it or free the pool under it.
Pool& pool() {
  static Pool* p = new Pool(defaultThreads());
  return *p;
}

}  // namespace

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  pool().run(n, std::max<int64_t>(1, grain), fn);
}

int numThreads() { return pool().size(); }

void setNumThreads(int n) { pool().resize(std::max(1, n)); }

}  // namespace rlhf
