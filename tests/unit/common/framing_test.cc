#include "common/framing.h"

#include <gtest/gtest.h>

namespace steer {
namespace {

TEST(Framing, FormatsContinuationAndFinalLines) {
  EXPECT_EQ(format_reply_line(1000, "a", false), "1000-a\n");
  EXPECT_EQ(format_reply_line(0, "ok", true), "0000 ok\n");
  EXPECT_EQ(format_reply_line(8001, "two\nlines", true), "8001-two\n8001 lines\n");
}

TEST(Framing, WriterAndReaderRoundTripAnyChunking) {
  const std::string text =
      ReplyWriter().json("{\"a\":1}").line(1001, "row").finish(reply::kOk, "applied");
  for (size_t chunk = 1; chunk <= text.size(); ++chunk) {
    ReplyReader r;
    for (size_t i = 0; i < text.size(); i += chunk) ASSERT_TRUE(r.feed(text.substr(i, chunk)));
    auto reply = r.next();
    ASSERT_TRUE(reply) << "chunk " << chunk;
    EXPECT_EQ(reply->code(), 0);
    EXPECT_TRUE(reply->ok());
    EXPECT_EQ(reply->text_of(reply::kJson), "{\"a\":1}");
    EXPECT_EQ(reply->text_of(1001), "row");
    EXPECT_EQ(reply->message(), "applied");
    EXPECT_FALSE(r.next());
  }
}

TEST(Framing, ReaderSplitsSeveralRepliesAndKeepsNotices) {
  ReplyReader r;
  ASSERT_TRUE(r.feed("0001 BIRD 2.0.12 ready.\n+notice\n1002-x\n y\n8003 No such\n"));
  auto greeting = r.next();
  ASSERT_TRUE(greeting);
  EXPECT_EQ(greeting->code(), 1);
  auto err = r.next();
  ASSERT_TRUE(err);
  EXPECT_FALSE(err->ok());
  EXPECT_EQ(err->code(), 8003);
  ASSERT_EQ(err->lines.size(), 3u);
  EXPECT_EQ(err->lines[1].code, 1002);  // leading-space continuation keeps the code
  EXPECT_EQ(err->lines[1].text, "y");
  ASSERT_EQ(r.notices().size(), 1u);
  EXPECT_EQ(r.notices()[0], "notice");
}

TEST(Framing, ReaderRejectsMalformedLines) {
  for (const char* bad : {"abc\n", "12 ok\n", "1234x\n", " orphan\n"}) {
    ReplyReader r;
    EXPECT_FALSE(r.feed(bad)) << bad;
  }
}

TEST(Framing, RequestReaderSplitsLinesAndStripsCr) {
  RequestReader r;
  ASSERT_TRUE(r.feed("stats\r\nflow tcp 1.2.3.4"));
  EXPECT_EQ(r.next(), "stats");
  EXPECT_FALSE(r.next());
  ASSERT_TRUE(r.feed(" 1 5.6.7.8 80\n\n"));
  EXPECT_EQ(r.next(), "flow tcp 1.2.3.4 1 5.6.7.8 80");
  EXPECT_EQ(r.next(), "");
  EXPECT_FALSE(r.next());
}

TEST(Framing, RequestReaderBoundsALine) {
  RequestReader r;
  std::string big(kMaxRequestBytes + 1, 'x');
  EXPECT_FALSE(r.feed(big));
}

TEST(Framing, SplitRequestAndWords) {
  Request q = split_request("  apply   {\"vips\": []}");
  EXPECT_EQ(q.command, "apply");
  EXPECT_EQ(q.rest, "{\"vips\": []}");
  EXPECT_EQ(split_request("status").rest, "");
  EXPECT_TRUE(split_request("   ").command.empty());
  auto w = split_words(" tcp  1.2.3.4\t80 ");
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[2], "80");
}

}  // namespace
}  // namespace steer
