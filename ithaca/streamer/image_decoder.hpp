// Start images: a client sends one as a data URL ("data:image/png;base64,...",
// docs/odyssey-compatibility.md section 8); the frame source wants RGB pixels. PNG and JPEG are
// accepted, at most 25 MB encoded and media::kMaxImageSide pixels a side. The size is read from the
// file's header before anything is decoded, so a small file that claims a huge picture is refused
// without allocating it. Decoding uses GStreamer (pngdec / jpegdec via decodebin, then
// videoconvert).
#pragma once

#include <string_view>

#include "ithaca/base/error.hpp"
#include "ithaca/media/frame_source.hpp"

namespace ithaca::streamer {

struct ImageHeader {
  enum class Format { png, jpeg } format;
  int width = 0;
  int height = 0;
};

// The format and size a PNG or JPEG file declares; invalid_image for anything else.
Result<ImageHeader> read_image_header(std::string_view bytes);
// Decodes a data URL to RGB; invalid_image naming what is wrong. Needs init_gstreamer().
Result<media::RgbImage> decode_image_data_url(std::string_view data_url);

}  // namespace ithaca::streamer
