// A fixed pool of worker threads that run one data-parallel loop at a time.
// The calling thread takes part in the work, so ThreadPool(1) runs everything inline.
// parallel_for is not re-entrant and must be called from one thread at a time; it allocates
// nothing per call, so it is safe on the per-token hot path.
// A decode step runs about a hundred loops of tens of microseconds each, so idle workers spin
// briefly on the loop counter before sleeping: a condition-variable wake-up per loop costs as
// much as the loop. They sleep once no loop has come for about a millisecond.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace kindred {

class ThreadPool {
 public:
  // n_threads <= 0 picks the number of hardware threads.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(task, thread) for every task in [0, n_tasks); thread is in [0, size()).
  // Tasks are handed out dynamically, so uneven tasks balance across threads.
  template <typename Fn>
  void parallel_for(int64_t n_tasks, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run(n_tasks, [](void* ctx, int64_t task, int thread) { (*static_cast<F*>(ctx))(task, thread); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using TaskFn = void (*)(void* ctx, int64_t task, int thread);
  void run(int64_t n_tasks, TaskFn fn, void* ctx);
  void worker_loop(int thread);
  void work(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};  // bumped once per parallel_for
  std::atomic<int> busy_workers_{0};
  std::atomic<int> sleeping_workers_{0};
  std::atomic<bool> stopping_{false};
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_task_{0};
};

}  // namespace kindred
