// The DTLS identity every peer of a streamer presents: a self-signed ECDSA P-256 certificate.
//
// webrtcbin (GStreamer 1.22) would otherwise generate an RSA-2048 certificate, and some WebRTC
// stacks offer only ECDHE-ECDSA cipher suites (aiortc, and so the official Odyssey Python SDK):
// their handshake with an RSA certificate fails with "no shared cipher". An ECDSA certificate is
// accepted by every standard stack, and signing with it costs far less than RSA-2048.
//
// WebRTC peers authenticate a certificate by the fingerprint in the SDP, not by a CA, so
// self-signed is the norm; the lifetime still matters to stacks that check the validity period.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "ithaca/base/clock.hpp"
#include "ithaca/base/error.hpp"

namespace ithaca::streamer {

struct DtlsCertificate {
  std::string pem;  // the certificate, then its private key, both PEM (what dtlsdec's "pem" takes)
  std::string sha256_fingerprint;  // "AB:CD:...", as an SDP a=fingerprint carries it
  TimePoint not_before;
  TimePoint not_after;
};

// A fresh key pair and a certificate valid from `now` (less a minute, for clock skew) for
// `lifetime`.
Result<DtlsCertificate> make_dtls_certificate(std::chrono::seconds lifetime, TimePoint now);

// The certificate the streamer's new peers present. It is made once at start-up and made anew
// when half its lifetime has passed, so a peer created now never outlives its certificate as
// long as a stream lasts less than half the lifetime. Thread-safe.
class DtlsIdentity {
 public:
  static Result<std::unique_ptr<DtlsIdentity>> create(std::chrono::seconds lifetime,
                                                      const Clock& clock);
  // The certificate for a peer created now.
  std::shared_ptr<const DtlsCertificate> for_new_peer();

 private:
  DtlsIdentity(std::chrono::seconds lifetime, const Clock& clock, DtlsCertificate first);
  const std::chrono::seconds lifetime_;
  const Clock& clock_;
  std::mutex mutex_;
  std::shared_ptr<const DtlsCertificate> current_;
};

// Makes every DTLS transport of `webrtcbin` present `certificate` instead of GStreamer's
// generated one: those already inside it, and those it creates later (during the first offer or
// answer). Call it before the first offer or answer, and pass each SDP it creates through
// write_fingerprint before using it.
void present_certificate(GstElement* webrtcbin, std::shared_ptr<const DtlsCertificate> certificate);

// Sets every a=fingerprint of `sdp` to the certificate's. webrtcbin 1.22 hashes every base64
// line of the PEM it presents, so for a certificate given with its private key (as dtlsdec
// wants it) the fingerprint it writes is wrong and a peer would refuse the handshake.
void write_fingerprint(GstSDPMessage* sdp, const DtlsCertificate& certificate);

// The PEM the DTLS decoder of `webrtcbin`'s first transport presents (empty before it has one),
// for tests.
std::string presented_certificate(GstElement* webrtcbin);

}  // namespace ithaca::streamer
