#include "ithaca/model/idle_picture.hpp"

#include <cstring>

#include "ithaca/media/frame_marker.hpp"

namespace ithaca::model {

Status IdlePicture::render(media::VideoFrame& out, int64_t frame_index) {
  std::call_once(once_, [this] {
    picture_.resize(format_.width, format_.height);
    const std::size_t luma = static_cast<std::size_t>(format_.width) * format_.height;
    std::memset(picture_.data.data(), 24, luma);
    std::memset(picture_.data.data() + luma, 128, picture_.data.size() - luma);
    media::draw_marker(picture_, 0);
  });
  out.resize(format_.width, format_.height);
  std::memcpy(out.data.data(), picture_.data.data(), picture_.data.size());
  out.index = frame_index;
  out.sequence = 0;
  return ok_status();
}

}  // namespace ithaca::model
