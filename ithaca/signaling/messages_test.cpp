#include "ithaca/signaling/messages.hpp"

#include <gtest/gtest.h>

#include "ithaca/signaling/model_fields.hpp"

namespace ithaca::signaling {
namespace {

using json = nlohmann::json;

ClientMessageKind kind(std::string_view text) {
  return classify_client_message(text).kind;
}

TEST(ClientMessages, KnownTypesAreClassified) {
  EXPECT_EQ(kind(R"({"type":"keepalive"})"), ClientMessageKind::keepalive);
  EXPECT_EQ(kind(R"({"type":"client_disconnecting"})"), ClientMessageKind::client_disconnecting);
  EXPECT_EQ(kind(R"({"type":"answer","sdp":"v=0\r\n"})"), ClientMessageKind::relay);
  EXPECT_EQ(kind(R"({"type":"ice_candidate","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host",
                    "sdpMid":"0","sdpMLineIndex":0})"),
            ClientMessageKind::relay);
  // End of candidates: an empty candidate, null mid and index.
  EXPECT_EQ(kind(R"({"type":"ice_candidate","candidate":"","sdpMid":null,"sdpMLineIndex":null})"),
            ClientMessageKind::relay);
  EXPECT_EQ(kind(R"({"type":"interactive_stream_start","prompt":"a cat","portrait":false})"),
            ClientMessageKind::relay);
}

TEST(ClientMessages, MalformedAndUnknownAreInvalidWithAReason) {
  for (const char* text : {
           "",
           "not json",
           "[1,2]",
           "\"answer\"",
           R"({"sdp":"x"})",
           R"({"type":7})",
           R"({"type":"answer"})",
           R"({"type":"answer","sdp":""})",
           R"({"type":"answer","sdp":5})",
           R"({"type":"ice_candidate"})",
           R"({"type":"ice_candidate","candidate":"c","sdpMLineIndex":-1})",
           R"({"type":"ice_candidate","candidate":"c","sdpMid":3})",
           R"({"type":"offer","sdp":"v=0"})",
           R"({"type":"update","prompt":"x"})",
           R"({"type":"keepalive"} trailing)",
       }) {
    const auto m = classify_client_message(text);
    EXPECT_EQ(m.kind, ClientMessageKind::invalid) << text;
    EXPECT_FALSE(m.problem.empty()) << text;
  }
  EXPECT_EQ(classify_client_message(R"({"type":"offer","sdp":"v=0"})").type, "offer");
}

TEST(ClientMessages, OnlyStreamStartMayBeLarge) {
  const std::string pad(200 * 1024, 'a');
  const std::string start =
      R"({"prompt":"p","type":"interactive_stream_start","input_image_base64":"data:image/png;base64,)" +
      pad + R"(","nested":{"type":"x","list":[1,{"type":2}]}})";
  auto m = classify_client_message(start);
  EXPECT_EQ(m.kind, ClientMessageKind::relay);
  EXPECT_EQ(m.type, "interactive_stream_start");

  const std::string answer = R"({"type":"answer","sdp":")" + pad + R"("})";
  m = classify_client_message(answer);
  EXPECT_EQ(m.kind, ClientMessageKind::invalid);
  EXPECT_EQ(m.type, "answer");
  EXPECT_NE(m.problem.find("65536"), std::string::npos) << m.problem;

  // The same limit applies with a small threshold, and at exactly the limit it is small.
  const std::string small_answer = R"({"type":"answer","sdp":"v=0"})";
  EXPECT_EQ(classify_client_message(small_answer, small_answer.size()).kind,
            ClientMessageKind::relay);
  EXPECT_EQ(classify_client_message(small_answer, small_answer.size() - 1).kind,
            ClientMessageKind::invalid);

  // Large and broken, large and not an object, large without a type, type not a string.
  EXPECT_EQ(classify_client_message(start.substr(0, start.size() - 1)).kind,
            ClientMessageKind::invalid);
  EXPECT_EQ(classify_client_message("[\"" + pad + "\"]").kind, ClientMessageKind::invalid);
  EXPECT_EQ(classify_client_message(R"({"prompt":")" + pad + R"("})").kind,
            ClientMessageKind::invalid);
  EXPECT_EQ(classify_client_message(R"({"type":1,"prompt":")" + pad + R"("})").kind,
            ClientMessageKind::invalid);
  EXPECT_EQ(classify_client_message(start + " {}").kind, ClientMessageKind::invalid);
}

TEST(ServerMessages, ErrorCarriesTheCatalogRow) {
  auto e = json::parse(error_message(ErrorCode::streamer_not_available));
  EXPECT_EQ(e["type"], "error");
  EXPECT_EQ(e["reason"], "streamer_not_available");
  EXPECT_EQ(e["retryable"], true);
  EXPECT_FALSE(e["message"].get<std::string>().empty());
  EXPECT_TRUE(e.contains("action"));
  e = json::parse(error_message(make_error(ErrorCode::invalid_command, "no string \"type\"")));
  EXPECT_EQ(e["reason"], "invalid_command");
  EXPECT_EQ(e["message"], "no string \"type\"");
  EXPECT_EQ(e["retryable"], false);
  EXPECT_FALSE(e.contains("action"));
  // A detail cut inside a UTF-8 character does not throw.
  const std::string cut = std::string("caf\xc3", 4);
  EXPECT_NO_THROW(json::parse(error_message(make_error(ErrorCode::streamer_failed, cut))));
}

TEST(ServerMessages, StreamerMessagesHaveTheirFields) {
  EXPECT_EQ(json::parse(registered_message("s1", 30, 40)), json({{"type", "registered"},
                                                                 {"streamer_id", "s1"},
                                                                 {"max_stream_seconds", 30},
                                                                 {"idle_timeout_seconds", 40}}));
  EXPECT_EQ(json::parse(session_open_message("ses_1", true)),
            json({{"type", "session_open"}, {"session_id", "ses_1"}, {"resumed", true}}));
  EXPECT_EQ(
      json::parse(session_close_message("ses_1", "client_disconnect")),
      json({{"type", "session_close"}, {"session_id", "ses_1"}, {"reason", "client_disconnect"}}));
  const auto signal = json::parse(signal_message("ses_1", R"({"type":"answer","sdp":"v=0"})"));
  EXPECT_EQ(signal, json({{"type", "signal"},
                          {"session_id", "ses_1"},
                          {"message", {{"type", "answer"}, {"sdp", "v=0"}}}}));
}

TEST(StreamerMessages, RegisterIsValidated) {
  auto m = parse_streamer_message(
      R"({"type":"register","streamer_id":"str-1.a_b","capacity":4,
          "capabilities":{"image_to_video":true},"version":"0.1.0"})");
  ASSERT_EQ(m.kind, StreamerMessageKind::register_) << m.problem;
  EXPECT_EQ(m.registration.info.id, "str-1.a_b");
  EXPECT_EQ(m.registration.info.capacity, 4);
  EXPECT_EQ(m.registration.info.capabilities, (session::Capabilities{{"image_to_video", true}}));
  EXPECT_EQ(m.registration.version, "0.1.0");

  m = parse_streamer_message(R"({"type":"register","streamer_id":"s","capacity":1024})");
  EXPECT_EQ(m.kind, StreamerMessageKind::register_) << m.problem;
  EXPECT_TRUE(m.registration.info.capabilities.empty());
  EXPECT_EQ(m.registration.info.model.name, "procedural");  // no model: the built-in world
  // A model streamer registers with no place yet.
  m = parse_streamer_message(R"({"type":"register","streamer_id":"s","capacity":0})");
  EXPECT_EQ(m.kind, StreamerMessageKind::register_) << m.problem;

  for (const char* text : {
           R"({"type":"register","capacity":4})",
           R"({"type":"register","streamer_id":"","capacity":4})",
           R"({"type":"register","streamer_id":"a b","capacity":4})",
           R"({"type":"register","streamer_id":"a/b","capacity":4})",
           R"({"type":"register","streamer_id":"s","capacity":1025})",
           R"({"type":"register","streamer_id":"s","capacity":"4"})",
           R"({"type":"register","streamer_id":"s","capacity":1.5})",
           R"({"type":"register","streamer_id":"s","capacity":4,"capabilities":[]})",
           R"({"type":"register","streamer_id":"s","capacity":4,"capabilities":{"x":1}})",
           R"({"type":"register","streamer_id":"s","capacity":4,"version":3})",
           R"({"type":"register","streamer_id":"s","capacity":-1})",
           R"({"type":"register","streamer_id":"s","capacity":1,"model":"my-world"})",
           R"({"type":"register","streamer_id":"s","capacity":1,"model":{}})",
           R"({"type":"register","streamer_id":"s","capacity":1,"model":{"name":"a b"}})",
           R"({"type":"register","streamer_id":"s","capacity":1,"model":{"name":"m","version":1}})",
           R"({"type":"register","streamer_id":"s","capacity":1,
               "model":{"name":"m","formats":{"square":{"width":2,"height":2,"fps":1}}}})",
           R"({"type":"register","streamer_id":"s","capacity":1,
               "model":{"name":"m","formats":{"landscape":{"width":1280,"height":704}}}})",
           R"({"type":"register","streamer_id":"s","capacity":1,"model":{"name":"m","params":[]}})",
           R"({"type":"register","streamer_id":"s","capacity":1,
               "model":{"name":"m","max_sessions":0}})",
           R"({"type":"register","streamer_id":"s","capacity":1,
               "model":{"name":"m","max_sessions":65}})",
           R"({"type":"register","streamer_id":"s","capacity":1,
               "model":{"name":"m","image_to_video":"yes"}})",
       }) {
    const auto bad = parse_streamer_message(text);
    EXPECT_EQ(bad.kind, StreamerMessageKind::invalid) << text;
    EXPECT_FALSE(bad.problem.empty()) << text;
  }
  EXPECT_EQ(parse_streamer_message(R"({"type":"register","capacity":4,"streamer_id":")" +
                                   std::string(65, 'a') + "\"}")
                .kind,
            StreamerMessageKind::invalid);
}

TEST(StreamerMessages, RegisterCarriesTheModel) {
  auto m = parse_streamer_message(
      R"({"type":"register","streamer_id":"gpu-1","capacity":0,"version":"0.2",
          "model":{"name":"my-world","version":"1.0",
                   "formats":{"landscape":{"width":1280,"height":704,"fps":30},
                              "portrait":{"width":704,"height":1280,"fps":30}},
                   "params":{"seed":{"type":"integer","minimum":0}},
                   "max_sessions":4,"image_to_video":true}})");
  ASSERT_EQ(m.kind, StreamerMessageKind::register_) << m.problem;
  const auto& model = m.registration.info.model;
  EXPECT_EQ(model.name, "my-world");
  EXPECT_EQ(model.version, "1.0");
  EXPECT_EQ(json::parse(model.formats)["portrait"]["height"], 1280);
  EXPECT_EQ(json::parse(model.params), json::parse(R"({"seed":{"type":"integer","minimum":0}})"));
  EXPECT_EQ(model.max_sessions, 4);
  EXPECT_TRUE(model.image_to_video);
  EXPECT_EQ(m.registration.info.version, "0.2");

  // The declared params schema is at most 16 KiB.
  const std::string big = R"({"type":"register","streamer_id":"s","capacity":1,
      "model":{"name":"m","params":{"k":")" +
                          std::string(kMaxParamsBytes, 'x') + R"("}}})";
  EXPECT_EQ(parse_streamer_message(big).kind, StreamerMessageKind::invalid);
}

TEST(StreamerMessages, CapacityAndSessionEnd) {
  auto m = parse_streamer_message(R"({"type":"capacity","capacity":3,"degraded":true})");
  ASSERT_EQ(m.kind, StreamerMessageKind::capacity) << m.problem;
  EXPECT_EQ(m.capacity, 3);
  EXPECT_TRUE(m.degraded);
  m = parse_streamer_message(R"({"type":"capacity","capacity":0})");
  ASSERT_EQ(m.kind, StreamerMessageKind::capacity) << m.problem;
  EXPECT_FALSE(m.degraded);
  for (const char* text :
       {R"({"type":"capacity"})", R"({"type":"capacity","capacity":-1})",
        R"({"type":"capacity","capacity":1025})", R"({"type":"capacity","capacity":"2"})",
        R"({"type":"capacity","capacity":2,"degraded":1})"}) {
    const auto bad = parse_streamer_message(text);
    EXPECT_EQ(bad.kind, StreamerMessageKind::invalid) << text;
    EXPECT_EQ(bad.type, "capacity") << text;
  }

  m = parse_streamer_message(
      R"({"type":"session_end","session_id":"ses_1","reason":"idle_timeout"})");
  ASSERT_EQ(m.kind, StreamerMessageKind::session_end) << m.problem;
  EXPECT_EQ(m.session_id, "ses_1");
  for (const char* text : {R"({"type":"session_end","reason":"idle_timeout"})",
                           R"({"type":"session_end","session_id":"ses_1"})",
                           R"({"type":"session_end","session_id":"ses_1","reason":"bored"})"}) {
    EXPECT_EQ(parse_streamer_message(text).kind, StreamerMessageKind::invalid) << text;
  }
}

TEST(ClientMessages, StreamStartParamsMustBeASmallObject) {
  auto kind_of = [](const std::string& text, size_t limit = kMaxSmallMessageBytes) {
    return classify_client_message(text, limit).kind;
  };
  const std::string start = R"({"type":"interactive_stream_start","prompt":"p",)";
  EXPECT_EQ(kind_of(start + R"("params":{"seed":3,"nested":{"a":[1,{"b":null}]}}})"),
            ClientMessageKind::relay);
  EXPECT_EQ(kind_of(start + R"("params":[1]})"), ClientMessageKind::invalid);
  EXPECT_EQ(kind_of(start + R"("params":"seed=3"})"), ClientMessageKind::invalid);
  EXPECT_EQ(kind_of(start + R"("params":null})"), ClientMessageKind::invalid);
  const std::string big_params =
      start + R"("params":{"k":")" + std::string(kMaxParamsBytes, 'x') + R"("}})";
  EXPECT_EQ(kind_of(big_params), ClientMessageKind::invalid);
  EXPECT_EQ(classify_client_message(big_params).problem, "params is over 16384 bytes");
  // The large path (a start image) checks params the same way, without a DOM of the rest.
  const std::string image = R"("input_image_base64":")" + std::string(200, 'A') + R"(",)";
  EXPECT_EQ(kind_of(start + image + R"("params":{"seed":3,"list":[1,2,{"x":"y"}]}})", 64),
            ClientMessageKind::relay);
  EXPECT_EQ(kind_of(start + image + R"("params":[1]})", 64), ClientMessageKind::invalid);
  EXPECT_EQ(kind_of(start + image + R"("params":7})", 64), ClientMessageKind::invalid);
  EXPECT_EQ(kind_of(big_params, 64), ClientMessageKind::invalid);
  EXPECT_EQ(
      kind_of(start + R"("params":{"k":")" + std::string(kMaxParamsBytes - 16, 'x') + R"("}})", 64),
      ClientMessageKind::relay);
}

TEST(StreamerMessages, SignalAndSessionFailed) {
  auto m = parse_streamer_message(
      R"({"type":"signal","session_id":"ses_1","message":{"type":"offer","sdp":"v=0"}})");
  ASSERT_EQ(m.kind, StreamerMessageKind::signal) << m.problem;
  EXPECT_EQ(m.session_id, "ses_1");
  EXPECT_EQ(json::parse(m.message), json({{"type", "offer"}, {"sdp", "v=0"}}));

  EXPECT_EQ(parse_streamer_message(R"({"type":"signal","session_id":"ses_1"})").kind,
            StreamerMessageKind::invalid);
  EXPECT_EQ(parse_streamer_message(R"({"type":"signal","session_id":"ses_1","message":{}})").kind,
            StreamerMessageKind::invalid);
  EXPECT_EQ(parse_streamer_message(R"({"type":"signal","message":{"type":"offer"}})").kind,
            StreamerMessageKind::invalid);

  m = parse_streamer_message(
      R"({"type":"session_failed","session_id":"ses_1","reason":"capability_missing",
          "message":"no image_to_video"})");
  ASSERT_EQ(m.kind, StreamerMessageKind::session_failed);
  EXPECT_EQ(m.reason, ErrorCode::capability_missing);
  EXPECT_EQ(m.reason_message, "no image_to_video");
  m = parse_streamer_message(
      R"({"type":"session_failed","session_id":"ses_1","reason":"no_such_code"})");
  EXPECT_EQ(m.reason, ErrorCode::streamer_failed);
  m = parse_streamer_message(R"({"type":"session_failed","session_id":"ses_1"})");
  EXPECT_EQ(m.reason, ErrorCode::streamer_failed);
  EXPECT_TRUE(m.reason_message.empty());

  EXPECT_EQ(parse_streamer_message(R"({"type":"hello"})").kind, StreamerMessageKind::invalid);
  EXPECT_EQ(parse_streamer_message("{").kind, StreamerMessageKind::invalid);
}

}  // namespace
}  // namespace ithaca::signaling
