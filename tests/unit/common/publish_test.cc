// PublishCell (common/publish.h): generations, readers that reload only on a new generation,
// values alive while read, and one writer with reader threads under ThreadSanitizer-style
// stress (every value a reader sees is complete and generations never go back).
#include "common/publish.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace steer {
namespace {

struct Value {
  uint64_t n = 0;
  uint64_t twice = 0;  // always 2 * n: a torn value would break it
};

TEST(PublishCell, ReadersSeeTheLatestValueAndItsGeneration) {
  PublishCell<Value> cell;
  PublishCell<Value>::Reader r(cell);
  EXPECT_EQ(r.get(), nullptr);
  EXPECT_EQ(cell.generation(), 0u);
  EXPECT_EQ(cell.publish(std::make_shared<const Value>(Value{1, 2})), 1u);
  EXPECT_EQ(r.get()->n, 1u);
  const Value* first = r.get().get();
  EXPECT_EQ(r.get().get(), first) << "no reload without a new generation";
  cell.publish(std::make_shared<const Value>(Value{2, 4}));
  EXPECT_EQ(r.get()->n, 2u);
  EXPECT_EQ(r.generation(), 2u);
}

TEST(PublishCell, AValueLivesWhileAReaderHoldsIt) {
  PublishCell<Value> cell(std::make_shared<const Value>(Value{1, 2}));
  PublishCell<Value>::Reader r(cell);
  std::weak_ptr<const Value> first = r.get();
  cell.publish(std::make_shared<const Value>(Value{2, 4}));
  EXPECT_FALSE(first.expired()) << "the reader still holds it";
  r.get();
  EXPECT_TRUE(first.expired()) << "freed once the reader moved on";
}

TEST(PublishCell, ReaderThreadsNeverSeeATornOrOlderValue) {
  PublishCell<Value> cell(std::make_shared<const Value>(Value{0, 0}));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      PublishCell<Value>::Reader r(cell);
      uint64_t last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const Value& v = *r.get();
        if (v.twice != 2 * v.n || v.n < last) bad.fetch_add(1);
        last = v.n;
      }
    });
  }
  for (uint64_t i = 1; i <= 20000; ++i)
    cell.publish(std::make_shared<const Value>(Value{i, 2 * i}));
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(cell.load()->n, 20000u);
}

}  // namespace
}  // namespace steer
