// A persistent pool of worker threads for the kernels. The calling (JS) thread takes part in every
// parallelFor, so a pool of n threads starts n-1 workers. Work is handed out in chunks from an atomic
// counter; workers spin briefly before sleeping so that back-to-back kernels don't pay a wake-up each.
#pragma once
#include <cstdint>
#include <functional>

namespace rlhf {

/** Run fn(begin, end) over [0, n) in chunks of at least `grain` items, on every thread of the pool. */
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

/** Threads used by parallelFor (the caller included). */
int numThreads();

/** Resize the pool (1 = run everything on the calling thread). */
void setNumThreads(int n);

}  // namespace rlhf
