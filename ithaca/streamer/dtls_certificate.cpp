#include "ithaca/streamer/dtls_certificate.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

#include "ithaca/streamer/gst_support.hpp"

namespace ithaca::streamer {
namespace {

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;

Error openssl_error(const std::string& what) {
  return Error{ErrorCode::internal, "DTLS certificate: " + what + " failed"};
}

bool set_time(ASN1_TIME* field, TimePoint t) {
  return ASN1_TIME_set(field, static_cast<time_t>(to_unix_seconds(t))) != nullptr;
}

// 128 random bits, positive (RFC 5280 4.1.2.2: at most 20 octets, non-negative).
bool set_random_serial(X509* x509) {
  BnPtr serial(BN_new());
  if (!serial || !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) return false;
  return BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x509)) != nullptr;
}

bool set_name(X509* x509) {
  X509_NAME* name = X509_get_subject_name(x509);
  const auto* cn = reinterpret_cast<const unsigned char*>("ithaca");
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0)) return false;
  return X509_set_issuer_name(x509, name) == 1;  // self-signed
}

std::string to_pem(X509* x509, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), x509) ||
      !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return {};
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string fingerprint(X509* x509) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!X509_digest(x509, EVP_sha256(), digest, &size)) return {};
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", digest[i]);
    out += hex;
  }
  return out;
}

}  // namespace

Result<DtlsCertificate> make_dtls_certificate(std::chrono::seconds lifetime, TimePoint now) {
  if (lifetime < std::chrono::hours(1)) {
    return make_error(ErrorCode::config_invalid, "the DTLS certificate lifetime must be >= 1h");
  }
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return openssl_error("P-256 key generation");
  X509Ptr x509(X509_new());
  DtlsCertificate out;
  out.not_before = std::chrono::time_point_cast<TimePoint::duration>(now - std::chrono::minutes(1));
  out.not_after = std::chrono::time_point_cast<TimePoint::duration>(now + lifetime);
  if (!x509 || !X509_set_version(x509.get(), 2) || !set_random_serial(x509.get()) ||
      !set_time(X509_getm_notBefore(x509.get()), out.not_before) ||
      !set_time(X509_getm_notAfter(x509.get()), out.not_after) || !set_name(x509.get()) ||
      !X509_set_pubkey(x509.get(), key.get()) || !X509_sign(x509.get(), key.get(), EVP_sha256())) {
    return openssl_error("self-signing");
  }
  out.pem = to_pem(x509.get(), key.get());
  out.sha256_fingerprint = fingerprint(x509.get());
  if (out.pem.empty() || out.sha256_fingerprint.empty()) return openssl_error("PEM encoding");
  return out;
}

Result<std::unique_ptr<DtlsIdentity>> DtlsIdentity::create(std::chrono::seconds lifetime,
                                                           const Clock& clock) {
  auto first = make_dtls_certificate(lifetime, clock.now());
  if (!first) return std::move(first).error();
  return std::unique_ptr<DtlsIdentity>(new DtlsIdentity(lifetime, clock, std::move(*first)));
}

DtlsIdentity::DtlsIdentity(std::chrono::seconds lifetime, const Clock& clock, DtlsCertificate first)
    : lifetime_(lifetime),
      clock_(clock),
      current_(std::make_shared<const DtlsCertificate>(std::move(first))) {}

std::shared_ptr<const DtlsCertificate> DtlsIdentity::for_new_peer() {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  if (now >= current_->not_before + lifetime_ / 2) {
    // On failure (which OpenSSL gives only when out of memory) the old one serves on.
    if (auto next = make_dtls_certificate(lifetime_, now)) {
      current_ = std::make_shared<const DtlsCertificate>(std::move(*next));
    }
  }
  return current_;
}

namespace {

constexpr const char* kPresentedKey = "ithaca-presented-pem";

// dtlssrtpdec holds the transport's DTLS decoder; its "pem" is the certificate the transport
// presents (webrtcbin reads it back for the SDP fingerprint).
void present_on(GstElement* element, const std::string& pem) {
  if (!made_by(element, "dtlssrtpdec")) return;
  if (g_object_get_data(G_OBJECT(element), kPresentedKey)) return;
  g_object_set(element, "pem", pem.c_str(), nullptr);
  g_object_set_data(G_OBJECT(element), kPresentedKey, GINT_TO_POINTER(1));
}

using CertificatePtr = std::shared_ptr<const DtlsCertificate>;

void on_deep_element_added(GstBin*, GstBin*, GstElement* element, gpointer data) {
  present_on(element, (*static_cast<CertificatePtr*>(data))->pem);
}

void free_certificate(gpointer data, GClosure*) {
  delete static_cast<CertificatePtr*>(data);
}

}  // namespace

void present_certificate(GstElement* webrtcbin, CertificatePtr certificate) {
  if (!certificate) return;
  for_each_element(webrtcbin, [&](GstElement* e) { present_on(e, certificate->pem); });
  g_signal_connect_data(webrtcbin, "deep-element-added", G_CALLBACK(on_deep_element_added),
                        new CertificatePtr(std::move(certificate)), free_certificate,
                        GConnectFlags(0));
}

void write_fingerprint(GstSDPMessage* sdp, const DtlsCertificate& certificate) {
  const std::string value = "sha-256 " + certificate.sha256_fingerprint;
  for (guint i = 0; i < gst_sdp_message_attributes_len(sdp); ++i) {
    if (g_strcmp0(gst_sdp_message_get_attribute(sdp, i)->key, "fingerprint") != 0) continue;
    GstSDPAttribute attribute;
    gst_sdp_attribute_set(&attribute, "fingerprint", value.c_str());
    gst_sdp_message_replace_attribute(sdp, i, &attribute);
  }
  for (guint m = 0; m < gst_sdp_message_medias_len(sdp); ++m) {
    // The message owns its medias; the API hands them out const only.
    auto* media = const_cast<GstSDPMedia*>(gst_sdp_message_get_media(sdp, m));
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
      if (g_strcmp0(gst_sdp_media_get_attribute(media, i)->key, "fingerprint") != 0) continue;
      GstSDPAttribute attribute;
      gst_sdp_attribute_set(&attribute, "fingerprint", value.c_str());
      gst_sdp_media_replace_attribute(media, i, &attribute);
    }
  }
}

std::string presented_certificate(GstElement* webrtcbin) {
  GstElement* dec = find_by_factory(webrtcbin, "dtlssrtpdec");
  if (!dec) return {};
  gchar* value = nullptr;
  g_object_get(dec, "pem", &value, nullptr);
  gst_object_unref(dec);
  std::string pem = value ? value : "";
  g_free(value);
  return pem;
}

}  // namespace ithaca::streamer
