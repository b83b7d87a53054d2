#include "decoded_frame.hpp"

#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "ithaca/media/frame_marker.hpp"

namespace ithaca::testing {

std::optional<DecodedFrame> pull_decoded_frame(GstElement* appsink) {
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(appsink));
  if (!sample) return std::nullopt;
  std::optional<DecodedFrame> out;
  GstVideoInfo info;
  GstVideoFrame frame;
  if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
      gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ)) {
    out = DecodedFrame{
        GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info),
        media::decode_marker(static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)),
                             GST_VIDEO_INFO_WIDTH(&info), GST_VIDEO_INFO_HEIGHT(&info),
                             GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0), media::MarkerPixels::luma)};
    gst_video_frame_unmap(&frame);
  }
  gst_sample_unref(sample);
  return out;
}

}  // namespace ithaca::testing
