#include "ithaca/streamer/stream_controller.hpp"

#include <gtest/gtest.h>

#include "ithaca/media/frame_marker.hpp"
#include "ithaca/media/procedural_world.hpp"

namespace ithaca::streamer {
namespace {

using nlohmann::json;

class StreamControllerTest : public ::testing::Test {
 protected:
  StreamControllerTest() { make({}); }

  void make(StreamLimits limits) {
    controller_ = std::make_unique<StreamController>(
        [] { return std::make_unique<media::ProceduralWorld>(); },
        [this](std::string_view url) -> Result<media::RgbImage> {
          ++decodes_;
          if (url == "data:image/png;base64,good") {
            return media::RgbImage{2, 2, std::vector<uint8_t>(12, 128)};
          }
          return make_error(ErrorCode::invalid_image, "bad");
        },
        limits, clock_);
  }

  json one(const std::string& text) {
    auto events = controller_->handle_text(text);
    EXPECT_EQ(events.size(), 1u) << text;
    return events.empty() ? json() : events[0];
  }

  ManualClock clock_;
  int decodes_ = 0;
  std::unique_ptr<StreamController> controller_;
};

TEST_F(StreamControllerTest, RendersIdleFramesBeforeAnyStream) {
  media::VideoFrame frame;
  ASSERT_TRUE(controller_->render(frame, 0).ok());
  EXPECT_EQ(frame.width, media::kLandscapeWidth);
  EXPECT_FALSE(controller_->streaming());
}

TEST_F(StreamControllerTest, RunsStreamsOneAfterAnother) {
  const json started =
      one(R"({"type":"interactive_stream_start","prompt":"a castle","request_id":"a"})");
  EXPECT_EQ(started["type"], "stream_started");
  EXPECT_EQ(started["applied_prompt"], "a castle");
  EXPECT_EQ(started["request_id"], "a");
  const std::string first = started["stream_id"];
  EXPECT_TRUE(controller_->streaming());

  const json ack = one(R"({"type":"update","prompt":"at night","request_id":"b"})");
  EXPECT_EQ(ack["type"], "update_acknowledged");
  EXPECT_EQ(ack["prompt"], "at night");
  EXPECT_EQ(ack["request_id"], "b");

  const json ended = one(R"({"type":"interactive_stream_end","request_id":"c"})");
  EXPECT_EQ(ended["type"], "stream_ended");
  EXPECT_EQ(ended["stream_id"], first);
  EXPECT_FALSE(controller_->streaming());

  const json again =
      one(R"({"type":"interactive_stream_start","prompt":"a beach","portrait":true})");
  EXPECT_EQ(again["type"], "stream_started");
  EXPECT_NE(again["stream_id"], first);
  EXPECT_FALSE(again.contains("request_id"));
  EXPECT_EQ(controller_->format().width, media::kPortraitWidth);
}

TEST_F(StreamControllerTest, InteractChangesTheMarkedSequenceOfTheNextFrame) {
  one(R"({"type":"interactive_stream_start","prompt":"one"})");
  media::VideoFrame frame;
  ASSERT_TRUE(controller_->render(frame, 1).ok());
  const auto before = media::decode_marker(frame.y(), frame.width, frame.height, frame.y_stride(),
                                           media::MarkerPixels::luma);
  one(R"({"type":"update","prompt":"two"})");
  ASSERT_TRUE(controller_->render(frame, 2).ok());
  const auto after = media::decode_marker(frame.y(), frame.width, frame.height, frame.y_stride(),
                                          media::MarkerPixels::luma);
  ASSERT_TRUE(before && after);
  EXPECT_EQ(static_cast<uint16_t>(*before + 1), *after);
  EXPECT_EQ(controller_->sequence(), *after);
}

TEST_F(StreamControllerTest, MarkersCountPromptsAcrossStreamsAndIdleShowsZero) {
  auto marker = [&](int64_t index) {
    media::VideoFrame frame;
    EXPECT_TRUE(controller_->render(frame, index).ok());
    auto m = media::decode_marker(frame.y(), frame.width, frame.height, frame.y_stride(),
                                  media::MarkerPixels::luma);
    EXPECT_TRUE(m.has_value());
    EXPECT_EQ(m.value_or(9999), frame.sequence);
    return m.value_or(9999);
  };
  EXPECT_EQ(marker(0), 0);
  EXPECT_EQ(one(R"({"type":"interactive_stream_start","prompt":"a"})")["sequence"], 1);
  EXPECT_EQ(marker(1), 1);
  EXPECT_EQ(one(R"({"type":"update","prompt":"b"})")["sequence"], 2);
  EXPECT_EQ(marker(2), 2);
  one(R"({"type":"interactive_stream_end"})");
  EXPECT_EQ(marker(3), 0);
  EXPECT_EQ(one(R"({"type":"interactive_stream_start","prompt":"c"})")["sequence"], 3);
  EXPECT_EQ(marker(4), 3);
  EXPECT_EQ(controller_->sequence(), 3);
}

TEST_F(StreamControllerTest, RefusesCommandsInTheWrongState) {
  EXPECT_EQ(one(R"({"type":"update","prompt":"x","request_id":"u"})")["reason"],
            "stream_not_active");
  EXPECT_EQ(one(R"({"type":"interactive_stream_end"})")["reason"], "stream_not_active");
  one(R"({"type":"interactive_stream_start","prompt":"x"})");
  const json twice = one(R"({"type":"interactive_stream_start","prompt":"y","request_id":"t"})");
  EXPECT_EQ(twice["type"], "interactive_stream_error");
  EXPECT_EQ(twice["reason"], "stream_already_active");
  EXPECT_EQ(twice["request_id"], "t");
  EXPECT_TRUE(controller_->streaming());  // the running stream is untouched
}

TEST_F(StreamControllerTest, MalformedInputAnswersInvalidCommandAndChangesNothing) {
  one(R"({"type":"interactive_stream_start","prompt":"x"})");
  const json bad = one(R"({"type":"update","prompt":17,"request_id":"m"})");
  EXPECT_EQ(bad["reason"], "invalid_command");
  EXPECT_EQ(bad["request_id"], "m");
  EXPECT_EQ(one("{{{")["reason"], "invalid_command");
  EXPECT_TRUE(controller_->streaming());
  EXPECT_EQ(one(R"({"type":"update","prompt":"fine"})")["type"], "update_acknowledged");
}

TEST_F(StreamControllerTest, StartImagesAreDecodedAndBadOnesRefused) {
  const json bad = one(
      R"({"type":"interactive_stream_start","input_image_base64":"data:image/png;base64,nope"})");
  EXPECT_EQ(bad["reason"], "invalid_image");
  EXPECT_FALSE(controller_->streaming());
  const json good = one(
      R"({"type":"interactive_stream_start","input_image_base64":"data:image/png;base64,good"})");
  EXPECT_EQ(good["type"], "stream_started");
  EXPECT_EQ(decodes_, 2);
}

TEST_F(StreamControllerTest, WithoutImageToVideoAnImageIsCapabilityMissing) {
  StreamLimits limits;
  limits.image_to_video = false;
  make(limits);
  const json e = one(
      R"({"type":"interactive_stream_start","input_image_base64":"data:image/png;base64,good"})");
  EXPECT_EQ(e["reason"], "capability_missing");
  EXPECT_EQ(decodes_, 0);
}

TEST_F(StreamControllerTest, TheStreamCapEndsAStreamWithSessionTimeout) {
  StreamLimits limits;
  limits.max_stream = seconds(150);
  make(limits);
  one(R"({"type":"interactive_stream_start","prompt":"x"})");
  clock_.advance(seconds(149));
  EXPECT_TRUE(controller_->tick().empty());
  clock_.advance(seconds(1));
  auto events = controller_->tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["reason"], "session_timeout");
  EXPECT_FALSE(controller_->streaming());
  EXPECT_TRUE(controller_->tick().empty());
  // Another stream may start.
  EXPECT_EQ(one(R"({"type":"interactive_stream_start","prompt":"y"})")["type"], "stream_started");
}

TEST_F(StreamControllerTest, NoCapMeansStreamsRunOn) {
  one(R"({"type":"interactive_stream_start","prompt":"x"})");
  clock_.advance(std::chrono::hours(10));
  EXPECT_TRUE(controller_->tick().empty());
  EXPECT_TRUE(controller_->streaming());
}

// A source that answers later, as a model worker does: it keeps the callbacks of its start.
class LateSource final : public media::FrameSource {
 public:
  explicit LateSource(media::StreamStart* kept) : kept_(kept) {}
  Result<media::AppliedPrompt> start(const media::StreamStart& r) override {
    *kept_ = r;
    return media::AppliedPrompt{r.prompt, 1};
  }
  Result<media::AppliedPrompt> interact(std::string_view p) override {
    return media::AppliedPrompt{std::string(p), ++sequence_};
  }
  void end() override {}
  Status render(media::VideoFrame& out, int64_t) override {
    out.resize(64, 64);
    out.sequence = 0;
    return ok_status();
  }
  media::AppliedPrompt applied_prompt() const override { return {"", sequence_}; }
  media::StreamFormat format() const override { return {64, 64, 30}; }
  bool answers_later() const override { return true; }

 private:
  media::StreamStart* kept_;
  uint16_t sequence_ = 1;
};

TEST(StreamControllerLate, AnswersAndFaultsComeThroughThePoster) {
  media::StreamStart kept;
  ManualClock clock;
  StreamController c([&] { return std::make_unique<LateSource>(&kept); },
                     [](std::string_view) -> Result<media::RgbImage> {
                       return make_error(ErrorCode::invalid_image);
                     },
                     {}, clock);
  std::vector<std::function<std::vector<json>()>> jobs;
  c.set_event_poster([&](std::function<std::vector<json>()> job) { jobs.push_back(job); });
  ASSERT_EQ(c.handle_text(R"({"type":"interactive_stream_start","prompt":"a"})").size(), 1u);
  // The update's answer is the source's: nothing now, the ack when the model answers.
  EXPECT_TRUE(c.handle_text(R"({"type":"update","prompt":"b","request_id":"r1"})").empty());
  EXPECT_TRUE(c.handle_text(R"({"type":"update","prompt":"boom","request_id":"r2"})").empty());
  kept.on_answer(2, Result<std::string>(std::string("b, as applied")));
  kept.on_answer(3, Result<std::string>(make_error(ErrorCode::model_error, "refused: boom")));
  ASSERT_EQ(jobs.size(), 2u);
  auto ack = jobs[0]();
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(ack[0]["type"], "update_acknowledged");
  EXPECT_EQ(ack[0]["prompt"], "b, as applied");
  EXPECT_EQ(ack[0]["request_id"], "r1");
  auto refused = jobs[1]();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]["type"], "interactive_stream_error");
  EXPECT_EQ(refused[0]["reason"], "model_error");
  EXPECT_EQ(refused[0]["request_id"], "r2");
  EXPECT_TRUE(c.streaming());
  // A crash ends the stream; a fault about an older stream is ignored.
  kept.on_fault(make_error(ErrorCode::model_crashed, "worker died"), true);
  auto crashed = jobs[2]();
  ASSERT_EQ(crashed.size(), 1u);
  EXPECT_EQ(crashed[0]["reason"], "model_crashed");
  EXPECT_FALSE(c.streaming());
  EXPECT_TRUE(c.idle_since().has_value());
  kept.on_fault(make_error(ErrorCode::model_crashed, "again"), true);
  EXPECT_TRUE(jobs[3]().empty());
}

}  // namespace
}  // namespace ithaca::streamer
