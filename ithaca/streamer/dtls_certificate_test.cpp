#include "ithaca/streamer/dtls_certificate.hpp"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  X509* x509 = nullptr;
  EVP_PKEY* key = nullptr;
  ~Parsed() {
    X509_free(x509);
    EVP_PKEY_free(key);
  }
};

void parse(const std::string& pem, Parsed& out) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  out.x509 = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  (void)BIO_reset(bio);
  out.key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
}

TEST(DtlsCertificate, IsASelfSignedP256CertificateWithItsKeyAndLifetime) {
  const TimePoint now = TimePoint{seconds{1'800'000'000}};
  auto cert = make_dtls_certificate(24h * 30, now);
  ASSERT_TRUE(cert.ok()) << cert.error().to_string();
  Parsed p;
  parse(cert->pem, p);
  ASSERT_NE(p.x509, nullptr);
  ASSERT_NE(p.key, nullptr);

  EXPECT_EQ(EVP_PKEY_get_base_id(p.key), EVP_PKEY_EC);
  char group[32] = {0};
  size_t group_len = 0;
  ASSERT_TRUE(EVP_PKEY_get_group_name(p.key, group, sizeof group, &group_len));
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_private_key(p.x509, p.key), 1);  // the key is the certificate's
  EXPECT_EQ(X509_verify(p.x509, p.key), 1);             // self-signed
  EXPECT_EQ(X509_get_signature_nid(p.x509), NID_ecdsa_with_SHA256);

  // X509_cmp_time: -1 when the field is at or before the time, 1 after it.
  time_t before = to_unix_seconds(now) - 60, after = to_unix_seconds(now + 24h * 30);
  time_t before_less_1 = before - 1, after_less_1 = after - 1;
  EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(p.x509), &before), -1);
  EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(p.x509), &before_less_1), 1);
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(p.x509), &after), -1);
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(p.x509), &after_less_1), 1);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ASSERT_TRUE(X509_digest(p.x509, EVP_sha256(), digest, &size));
  ASSERT_EQ(size, 32u);
  ASSERT_EQ(cert->sha256_fingerprint.size(), 32u * 3 - 1);
  char first[3];
  std::snprintf(first, sizeof first, "%02X", digest[0]);
  EXPECT_EQ(cert->sha256_fingerprint.substr(0, 2), first);
}

TEST(DtlsCertificate, EachOneHasItsOwnKeyAndSerial) {
  auto a = make_dtls_certificate(2h, TimePoint{seconds{1'800'000'000}});
  auto b = make_dtls_certificate(2h, TimePoint{seconds{1'800'000'000}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->pem, b->pem);
  EXPECT_NE(a->sha256_fingerprint, b->sha256_fingerprint);
}

TEST(DtlsCertificate, ALifetimeUnderAnHourIsRefused) {
  auto cert = make_dtls_certificate(59min, TimePoint{});
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.error().code, ErrorCode::config_invalid);
}

TEST(DtlsIdentity, KeepsOneCertificateUntilHalfItsLifetimeThenMakesANewOne) {
  ManualClock clock;
  auto identity = DtlsIdentity::create(10h, clock);
  ASSERT_TRUE(identity.ok());
  auto first = (*identity)->for_new_peer();
  clock.advance(4h);
  EXPECT_EQ((*identity)->for_new_peer(), first);
  clock.advance(2h);  // past 5h (half of 10h, counted from not_before, a minute earlier)
  auto second = (*identity)->for_new_peer();
  EXPECT_NE(second->pem, first->pem);
  EXPECT_EQ((*identity)->for_new_peer(), second);
}

// The certificate a webrtcbin's offer fingerprints is the one presented.
std::string offer_fingerprint(GstElement* webrtc, const DtlsCertificate* certificate) {
  GstPromise* promise = gst_promise_new();
  g_signal_emit_by_name(webrtc, "create-offer", nullptr, promise);
  EXPECT_EQ(gst_promise_wait(promise), GST_PROMISE_RESULT_REPLIED);
  GstWebRTCSessionDescription* offer = nullptr;
  gst_structure_get(gst_promise_get_reply(promise), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                    &offer, nullptr);
  gst_promise_unref(promise);
  if (!offer) return {};
  if (certificate) write_fingerprint(offer->sdp, *certificate);
  gchar* text = gst_sdp_message_as_text(offer->sdp);
  std::string sdp = text;
  g_free(text);
  gst_webrtc_session_description_free(offer);
  const auto at = sdp.find("a=fingerprint:sha-256 ");
  if (at == std::string::npos) return {};
  const auto start = at + std::string("a=fingerprint:sha-256 ").size();
  return sdp.substr(start, sdp.find_first_of("\r\n", start) - start);
}

GstElement* webrtcbin_with_video() {
  init_gstreamer();
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc is-live=true ! vp8enc deadline=1 ! rtpvp8pay ! "
      "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! webrtcbin name=webrtc",
      nullptr);
  return pipeline;
}

TEST(PresentCertificate, TheOfferPresentsAndFingerprintsTheCertificate) {
  auto cert = make_dtls_certificate(24h, SystemClock::instance().now());
  ASSERT_TRUE(cert.ok());
  GstElement* pipeline = webrtcbin_with_video();
  ASSERT_NE(pipeline, nullptr);
  GstElement* webrtc = gst_bin_get_by_name(GST_BIN(pipeline), "webrtc");
  present_certificate(webrtc, std::make_shared<const DtlsCertificate>(*cert));
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  // webrtcbin's own fingerprint of a PEM with its key is wrong (see write_fingerprint).
  EXPECT_NE(offer_fingerprint(webrtc, nullptr), cert->sha256_fingerprint);
  EXPECT_EQ(offer_fingerprint(webrtc, &*cert), cert->sha256_fingerprint);
  EXPECT_EQ(presented_certificate(webrtc), cert->pem);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(webrtc);
  gst_object_unref(pipeline);
}

TEST(KeepIceLocal, TurnsUpnpOffOnTheAgent) {
  GstElement* pipeline = webrtcbin_with_video();
  ASSERT_NE(pipeline, nullptr);
  GstElement* webrtc = gst_bin_get_by_name(GST_BIN(pipeline), "webrtc");
  EXPECT_TRUE(ice_upnp_enabled(webrtc));  // libnice's default, which this guards against
  keep_ice_local(webrtc);
  EXPECT_FALSE(ice_upnp_enabled(webrtc));
  gst_object_unref(webrtc);
  gst_object_unref(pipeline);
}

}  // namespace
}  // namespace ithaca::streamer
