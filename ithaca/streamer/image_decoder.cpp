#include "ithaca/streamer/image_decoder.hpp"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstring>

#include "ithaca/streamer/gst_support.hpp"
#include "ithaca/streamer/stream_commands.hpp"

namespace ithaca::streamer {
namespace {

Error bad(const std::string& why) {
  return make_error(ErrorCode::invalid_image, why);
}

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint16_t be16(const unsigned char* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

Result<ImageHeader> png_header(const unsigned char* p, size_t n) {
  // Signature (8), then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4).
  if (n < 24 || std::memcmp(p + 12, "IHDR", 4) != 0) return bad("the PNG has no IHDR header");
  return ImageHeader{ImageHeader::Format::png,
                     static_cast<int>(std::min<uint32_t>(be32(p + 16), 1u << 30)),
                     static_cast<int>(std::min<uint32_t>(be32(p + 20), 1u << 30))};
}

Result<ImageHeader> jpeg_header(const unsigned char* p, size_t n) {
  // Walk the markers after SOI to the first start-of-frame (SOF0..SOF15 but DHT, JPG, DAC).
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) return bad("the JPEG's markers are corrupt");
    const unsigned char marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const size_t length = be16(p + i + 2);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      if (i + 9 > n) break;
      return ImageHeader{ImageHeader::Format::jpeg, be16(p + i + 7), be16(p + i + 5)};
    }
    if (marker == 0xD9 || marker == 0xDA) break;  // end of image, or scan data before a frame
    if (length < 2) return bad("the JPEG's markers are corrupt");
    i += 2 + length;
  }
  return bad("the JPEG has no frame header");
}

}  // namespace

Result<ImageHeader> read_image_header(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  static constexpr unsigned char kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Result<ImageHeader> header = bad("only PNG and JPEG images are accepted");
  if (n >= 8 && std::memcmp(p, kPng, 8) == 0) {
    header = png_header(p, n);
  } else if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) {
    header = jpeg_header(p, n);
  }
  if (!header) return header;
  if (header->width <= 0 || header->height <= 0 || header->width > media::kMaxImageSide ||
      header->height > media::kMaxImageSide) {
    return bad("the image is " + std::to_string(header->width) + "x" +
               std::to_string(header->height) + "; each side must be 1.." +
               std::to_string(media::kMaxImageSide));
  }
  return header;
}

Result<media::RgbImage> decode_image_data_url(std::string_view url) {
  constexpr std::string_view kMarker = ";base64,";
  const auto comma = url.find(kMarker);
  if (url.rfind("data:image/", 0) != 0 || comma == std::string_view::npos) {
    return bad("expected a data:image/...;base64,... URL");
  }
  const std::string text(url.substr(comma + kMarker.size()));
  if (text.empty()) return bad("the image data is empty");
  if (text.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n") !=
      std::string::npos) {
    return bad("the image data is not base64");
  }
  gsize size = 0;
  guchar* decoded = g_base64_decode(text.c_str(), &size);  // sets size: its own statement
  GBytesPtr encoded(g_bytes_new_take(decoded, size));
  if (size == 0) return bad("the image data is empty");
  if (size > kMaxImageBytes) return bad("the image is over 25 MB");
  gsize n = 0;
  const auto* data = static_cast<const char*>(g_bytes_get_data(encoded.get(), &n));
  auto header = read_image_header(std::string_view(data, n));
  if (!header) return std::move(header).error();

  GError* error = nullptr;
  GstPtr<GstElement> pipeline(
      gst_parse_launch("appsrc name=src ! decodebin ! videoconvert ! video/x-raw,format=RGB ! "
                       "appsink name=sink sync=false",
                       &error));
  if (!pipeline) {
    std::string why = error ? error->message : "unknown";
    if (error) g_error_free(error);
    return make_error(ErrorCode::internal, "image pipeline: " + why);
  }
  GstPtr<GstElement> src(gst_bin_get_by_name(GST_BIN(pipeline.get()), "src"));
  GstPtr<GstElement> sink(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  gst_app_src_push_buffer(GST_APP_SRC(src.get()), gst_buffer_new_wrapped_bytes(encoded.get()));
  gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
  // Wait for the picture, but stop at once on a decoder error or end of stream without one.
  GstPtr<GstBus> bus(gst_element_get_bus(pipeline.get()));
  GstSample* sample = nullptr;
  for (int waited_ms = 0; !sample && waited_ms < 10'000; waited_ms += 50) {
    sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 50 * GST_MSECOND);
    if (sample || gst_app_sink_is_eos(GST_APP_SINK(sink.get()))) break;
    if (GstMessage* m = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
      gst_message_unref(m);
      break;
    }
  }
  Result<media::RgbImage> out = bad("the image could not be decoded");
  if (sample) {
    GstVideoInfo info;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstVideoFrame frame;
    if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
        gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
      media::RgbImage image;
      image.width = GST_VIDEO_INFO_WIDTH(&info);
      image.height = GST_VIDEO_INFO_HEIGHT(&info);
      image.bytes.resize(static_cast<size_t>(image.width) * image.height * 3);
      const auto* pixels = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
      const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
      for (int y = 0; y < image.height; ++y) {
        std::memcpy(image.bytes.data() + static_cast<size_t>(y) * image.width * 3,
                    pixels + static_cast<size_t>(y) * stride, static_cast<size_t>(image.width) * 3);
      }
      gst_video_frame_unmap(&frame);
      out = std::move(image);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  return out;
}

}  // namespace ithaca::streamer
