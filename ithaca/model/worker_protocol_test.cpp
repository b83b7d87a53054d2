#include "ithaca/model/worker_protocol.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ithaca::model {
namespace {

using nlohmann::json;

std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(WorkerProtocol, RoundTripsEveryType) {
  for (auto type : {MessageType::hello, MessageType::frame, MessageType::ring, MessageType::step,
                    MessageType::shutdown}) {
    const json payload = {{"lane", 1}, {"prompt", "a red fox"}};
    auto packet = encode_message(type, payload);
    ASSERT_TRUE(packet);
    ASSERT_EQ(packet->size(), kHeaderBytes + payload.dump().size());
    auto m = decode_message(*packet);
    ASSERT_TRUE(m) << m.error().to_string();
    EXPECT_EQ(m->type, type);
    EXPECT_EQ(m->payload, payload);
  }
}

TEST(WorkerProtocol, HeaderIsLittleEndianTypeFlagsLength) {
  auto packet = encode_message(MessageType::release, {{"slot", 3}});
  ASSERT_TRUE(packet);
  EXPECT_EQ(static_cast<uint8_t>((*packet)[0]), 106);
  EXPECT_EQ((*packet)[1], 0);
  EXPECT_EQ((*packet)[2], 0);
  EXPECT_EQ((*packet)[3], 0);
  EXPECT_EQ(static_cast<uint8_t>((*packet)[4]), std::string(R"({"slot":3})").size());
  EXPECT_EQ(packet->substr(8), R"({"slot":3})");
}

TEST(WorkerProtocol, RefusesMalformedPackets) {
  const std::string good = *encode_message(MessageType::heartbeat, json::object());
  EXPECT_FALSE(decode_message(good.substr(0, 5)));  // short
  std::string longer = good + "x";
  EXPECT_FALSE(decode_message(longer));  // length mismatch
  std::string flags = good;
  flags[2] = 1;
  EXPECT_FALSE(decode_message(flags));
  std::string unknown = good;
  unknown[0] = 99;
  EXPECT_FALSE(decode_message(unknown));
  auto array = encode_message(MessageType::log, json::array());
  ASSERT_TRUE(array);
  auto refused = decode_message(*array);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().detail.find("not a JSON object"), std::string::npos);
  EXPECT_FALSE(encode_message(MessageType::log, {{"message", std::string(70000, 'x')}}));
}

// spec/vectors/model_protocol.json: the vectors a worker in any language is checked against.
TEST(WorkerProtocol, MatchesTheSpecVectors) {
  const auto path = std::filesystem::path(ITHACA_SOURCE_DIR) / "spec/vectors/model_protocol.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const json vectors = json::parse(in);
  ASSERT_FALSE(vectors.at("packets").empty());
  for (const auto& v : vectors.at("packets")) {
    auto m = decode_message(from_hex(v.at("hex").get<std::string>()));
    ASSERT_TRUE(m) << v.at("name") << ": " << m.error().to_string();
    EXPECT_EQ(static_cast<int>(m->type), v.at("type").get<int>()) << v.at("name");
    EXPECT_EQ(message_name(m->type), v.at("message").get<std::string>()) << v.at("name");
    EXPECT_EQ(m->payload, v.at("payload")) << v.at("name");
    // nlohmann::json writes keys sorted, not in the vector's order; readers may not depend on
    // order (docs/model-workers.md), so the check is that ours decodes to the same message.
    auto again = decode_message(*encode_message(m->type, m->payload));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->payload, v.at("payload")) << v.at("name");
  }
  // Framing and JSON are refused here; a field's type is checked where the message is handled
  // (ModelWorker), and most field vectors are of messages only workers receive.
  int framing = 0;
  for (const auto& v : vectors.at("invalid")) {
    const std::string why = v.at("why");
    if (why.find("field") != std::string::npos || why.find("is not a") != std::string::npos ||
        why.find("is not an") != std::string::npos || why.find("required") != std::string::npos ||
        why.find("lanes") != std::string::npos) {
      continue;
    }
    ++framing;
    EXPECT_FALSE(decode_message(from_hex(v.at("hex").get<std::string>()))) << v.at("name");
  }
  EXPECT_GE(framing, 10);
}

}  // namespace
}  // namespace ithaca::model
