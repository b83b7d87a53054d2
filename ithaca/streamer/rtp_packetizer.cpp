#include "ithaca/streamer/rtp_packetizer.hpp"

namespace ithaca::streamer {
namespace {

gboolean swallow_event(GstPad*, GstObject*, GstEvent* event) {
  gst_event_unref(event);  // caps and segment of the packets: nothing to act on
  return TRUE;
}

}  // namespace

Result<std::unique_ptr<RtpPacketizer>> RtpPacketizer::create(const EncoderSettings& encoder,
                                                             GstCaps* encoded_caps, uint32_t ssrc) {
  std::unique_ptr<RtpPacketizer> p(new RtpPacketizer());
  GError* error = nullptr;
  p->payloader_ =
      gst_parse_bin_from_description(payloader_fragment(encoder, 96, ssrc).c_str(), TRUE, &error);
  if (!p->payloader_) {
    std::string why = error ? error->message : "unknown";
    if (error) g_error_free(error);
    return make_error(ErrorCode::streamer_failed, "RTP payloader: " + why);
  }
  gst_object_ref_sink(p->payloader_);

  p->into_ = gst_pad_new("packetizer_src", GST_PAD_SRC);
  p->out_ = gst_pad_new("packetizer_sink", GST_PAD_SINK);
  gst_pad_set_element_private(p->out_, p.get());
  gst_pad_set_chain_function(p->out_, on_packet);
  gst_pad_set_chain_list_function(p->out_, on_packets);
  gst_pad_set_event_function(p->out_, swallow_event);
  GstPtr<GstPad> sink(gst_element_get_static_pad(p->payloader_, "sink"));
  GstPtr<GstPad> src(gst_element_get_static_pad(p->payloader_, "src"));
  if (!sink || !src || gst_pad_link(p->into_, sink.get()) != GST_PAD_LINK_OK ||
      gst_pad_link(src.get(), p->out_) != GST_PAD_LINK_OK) {
    return make_error(ErrorCode::streamer_failed, "RTP payloader: its pads do not link");
  }
  gst_pad_set_active(p->out_, TRUE);
  gst_pad_set_active(p->into_, TRUE);
  if (gst_element_set_state(p->payloader_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    return make_error(ErrorCode::streamer_failed, "RTP payloader: did not start");
  }
  // Sticky events "succeed" when merely stored, so the caps are asked about first.
  if (!gst_pad_peer_query_accept_caps(p->into_, encoded_caps)) {
    return make_error(ErrorCode::streamer_failed, "RTP payloader: refused the encoded caps");
  }
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  if (!gst_pad_push_event(p->into_, gst_event_new_stream_start("spectator-fanout")) ||
      !gst_pad_push_event(p->into_, gst_event_new_caps(encoded_caps)) ||
      !gst_pad_push_event(p->into_, gst_event_new_segment(&segment))) {
    return make_error(ErrorCode::streamer_failed, "RTP payloader: refused the encoded caps");
  }
  return p;
}

RtpPacketizer::~RtpPacketizer() {
  if (payloader_) gst_element_set_state(payloader_, GST_STATE_NULL);
  if (into_) {
    gst_pad_set_active(into_, FALSE);
    gst_object_unref(into_);
  }
  if (out_) {
    gst_pad_set_active(out_, FALSE);
    gst_object_unref(out_);
  }
  if (payloader_) gst_object_unref(payloader_);
}

std::vector<GstBufferPtr> RtpPacketizer::packetize(GstBuffer* frame) {
  // Times relative to the first frame: the payloader turns them into RTP timestamps.
  GstBuffer* input = gst_buffer_copy(frame);  // shares the memory
  const GstClockTime pts =
      GST_BUFFER_PTS_IS_VALID(frame) ? GST_BUFFER_PTS(frame) : gst_util_get_timestamp();
  if (!GST_CLOCK_TIME_IS_VALID(first_)) first_ = pts;
  GST_BUFFER_PTS(input) = pts >= first_ ? pts - first_ : 0;
  GST_BUFFER_DTS(input) = GST_CLOCK_TIME_NONE;
  collected_.clear();
  if (gst_pad_push(into_, input) != GST_FLOW_OK) collected_.clear();
  return std::move(collected_);
}

GstFlowReturn RtpPacketizer::on_packet(GstPad* pad, GstObject*, GstBuffer* packet) {
  auto* self = static_cast<RtpPacketizer*>(gst_pad_get_element_private(pad));
  self->collected_.emplace_back(packet);
  return GST_FLOW_OK;
}

GstFlowReturn RtpPacketizer::on_packets(GstPad* pad, GstObject*, GstBufferList* packets) {
  auto* self = static_cast<RtpPacketizer*>(gst_pad_get_element_private(pad));
  const guint n = gst_buffer_list_length(packets);
  for (guint i = 0; i < n; ++i) {
    self->collected_.emplace_back(gst_buffer_ref(gst_buffer_list_get(packets, i)));
  }
  gst_buffer_list_unref(packets);
  return GST_FLOW_OK;
}

}  // namespace ithaca::streamer
