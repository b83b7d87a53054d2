// What the headless test clients read from each decoded frame: its size and frame marker.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <optional>

namespace ithaca::testing {

struct DecodedFrame {
  int width = 0;
  int height = 0;
  std::optional<uint16_t> marker;  // none when the frame carries no readable marker
};

// Pulls the next I420 sample from an appsink and reads it; nullopt when there is none.
std::optional<DecodedFrame> pull_decoded_frame(GstElement* appsink);

}  // namespace ithaca::testing
