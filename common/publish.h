// DOC: PublishCell<T> — one writer publishes immutable values of T; any number of reader
// threads read the latest, without locks on their fast path. steerd's control thread
// publishes its ServiceHealth (and, for the DNS responder, answer tables) through it.
//
//   writer (one thread):  cell.publish(std::make_shared<const T>(...))   generation + 1
//   reader (any thread):  PublishCell<T>::Reader r(cell);  const T& t = r.get();
//
// A Reader keeps its own shared_ptr to the value it last read, and reloads only when the
// cell's generation moved (one relaxed-then-acquire atomic load per get() when nothing
// changed): a thread answering a million queries a second does not bounce the value's
// reference count between cores on every query, only once per publication. A value stays
// alive while any reader holds it; the old one is freed by whichever thread drops the last
// reference (the writer, usually: readers let go at their next get()).
//
// Memory ordering: publish() stores the pointer (std::atomic<std::shared_ptr>, which
// synchronises the pointee) before it increments the generation with release; a reader that
// sees the new generation with acquire then loads the pointer and sees the new value (or a
// newer one). Thread-safe as described; T must be immutable once published.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace steer {

template <class T>
class PublishCell {
 public:
  PublishCell() = default;
  explicit PublishCell(std::shared_ptr<const T> initial) { publish(std::move(initial)); }
  PublishCell(const PublishCell&) = delete;
  PublishCell& operator=(const PublishCell&) = delete;

  // Writer only (one thread). Returns the new generation.
  uint64_t publish(std::shared_ptr<const T> value) {
    value_.store(std::move(value), std::memory_order_release);
    return generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }

  // Any thread: the latest value (nullptr before the first publish). Costs an atomic
  // reference-count increment: readers on a fast path use a Reader.
  std::shared_ptr<const T> load() const { return value_.load(std::memory_order_acquire); }
  // Any thread: how many values were published.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // One per reader thread.
  class Reader {
   public:
    explicit Reader(const PublishCell& cell) : cell_(cell) {}
    // The latest value; reloads only when the generation changed. nullptr before the first
    // publish.
    const std::shared_ptr<const T>& get() {
      const uint64_t g = cell_.generation();
      if (g != seen_) {
        seen_ = g;
        value_ = cell_.load();
      }
      return value_;
    }
    uint64_t generation() const { return seen_; }

   private:
    const PublishCell& cell_;
    uint64_t seen_ = 0;
    std::shared_ptr<const T> value_;
  };

 private:
  std::atomic<std::shared_ptr<const T>> value_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace steer
