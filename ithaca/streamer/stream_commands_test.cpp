#include "ithaca/streamer/stream_commands.hpp"

#include <gtest/gtest.h>

namespace ithaca::streamer {
namespace {

using nlohmann::json;

TEST(StreamCommands, ParsesTheOdysseyStartCommand) {
  auto c = parse_command_text(
      R"({"type":"interactive_stream_start","prompt":"a forest","portrait":true,)"
      R"("input_image_base64":null,"broadcast":false,"bypass_vlm_expansion":true})");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  const auto& start = std::get<StartCommand>(c->body);
  EXPECT_EQ(start.prompt, "a forest");
  EXPECT_TRUE(start.portrait);
  EXPECT_FALSE(start.image_data_url);
  EXPECT_FALSE(c->request_id);
}

TEST(StreamCommands, KeepsTheRequestId) {
  auto c = parse_command_text(R"({"type":"update","prompt":"rain","request_id":"r-7"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->request_id, "r-7");
  EXPECT_EQ(std::get<UpdateCommand>(c->body).prompt, "rain");
  auto end = parse_command_text(R"({"type":"interactive_stream_end","request_id":"x"})");
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(std::holds_alternative<EndCommand>(end->body));
}

TEST(StreamCommands, RefusesMalformedCommandsWithInvalidCommand) {
  const std::string too_long(5000, 'a');
  for (const std::string& text : std::vector<std::string>{
           "not json", "[]", R"({"prompt":"x"})", R"({"type":7})", R"({"type":"dance"})",
           R"({"type":"update"})", R"({"type":"update","prompt":""})",
           R"({"type":"update","prompt":42})",
           R"({"type":"interactive_stream_start","portrait":"yes"})",
           R"({"type":"interactive_stream_start","input_image_base64":5})",
           R"({"type":"update","prompt":"x","request_id":5})",
           R"({"type":"update","prompt":")" + too_long + R"("})"}) {
    auto c = parse_command_text(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().code, ErrorCode::invalid_command) << text;
  }
}

TEST(StreamCommands, FindsTheRequestIdOfAFailedCommand) {
  EXPECT_EQ(request_id_of(R"({"type":"dance","request_id":"q"})"), "q");
  EXPECT_FALSE(request_id_of("garbage"));
  EXPECT_FALSE(request_id_of(R"({"request_id":3})"));
}

TEST(StreamCommands, EventsEchoTheRequestIdOnlyWhenGiven) {
  EXPECT_EQ(stream_started_event("st_1", "p", "r1"), json({{"type", "stream_started"},
                                                           {"stream_id", "st_1"},
                                                           {"applied_prompt", "p"},
                                                           {"request_id", "r1"}}));
  EXPECT_FALSE(update_acknowledged_event("p", std::nullopt).contains("request_id"));
  const json e = stream_error_event(make_error(ErrorCode::stream_not_active), "r2");
  EXPECT_EQ(e["type"], "interactive_stream_error");
  EXPECT_EQ(e["reason"], "stream_not_active");
  EXPECT_FALSE(e["message"].get<std::string>().empty());
  EXPECT_EQ(e["request_id"], "r2");
}

}  // namespace
}  // namespace ithaca::streamer
