// TelemetryIntake: POST /telemetry, where the official Odyssey Python SDK (1.3.0, telemetry on by
// default) reports its connect and error events: {"events": [event, ...]}, each event an object
// with sdk_version, sdk_platform, platform_info and either "event" (session_connecting,
// session_connected with connect_duration_ms, session_disconnected) or "error_type" (auth,
// connection, stream, usage, unknown) with error_message, error_code, connection_status.
//
// Nobody needs to authenticate and nothing a client sends is trusted: a request is bounded in
// size and in rate (a token bucket per client address, on the injected Clock), every field is
// type-checked and length-capped, and what reaches a metric label is an allow-listed value, a
// value of a fixed shape among a capped number of distinct ones, or "other". Nothing a client
// sends is logged. What it folds into /metrics:
//
//   ithaca_client_connect_duration_seconds{sdk}           histogram of connect_duration_ms
//   ithaca_client_errors_total{sdk,sdk_version,error_type} error reports
//   ithaca_client_events_total{event}                     every accepted event, by kind
//   ithaca_telemetry_rejected_total{reason}               refused requests and dropped events
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "ithaca/base/clock.hpp"
#include "ithaca/metrics/metrics.hpp"
#include "ithaca/net/http.hpp"

namespace ithaca::api {

struct TelemetryLimits {
  size_t max_body_bytes = 16 * 1024;
  size_t max_events = 32;        // per request; beyond, the rest are dropped
  double rate_per_second = 1.0;  // requests per client address, on average
  double burst = 20;             // and at once
  size_t max_addresses = 4096;   // rate buckets kept; when full, new addresses are refused
  size_t max_sdk_versions = 16;  // distinct (sdk, sdk_version) label pairs; then "other"
  size_t max_error_types = 16;   // distinct error_type labels (the SDK's five included)
};

class TelemetryIntake {
 public:
  TelemetryIntake(metrics::Registry& metrics, const Clock& clock, TelemetryLimits limits = {});

  // 202 {"accepted": n, "dropped": m}; 413 request_too_large, 429 RATE_LIMITED,
  // 400 invalid_json / invalid_request, 415 unsupported_media_type.
  net::HttpResponse handle(const net::HttpRequest& request);

 private:
  // 0 when allowed (and counted); else whole seconds until a retry can succeed.
  int64_t acquire(const std::string& address);
  // Folds one event into the metrics; false when it is not an event of the known shape.
  bool fold(const nlohmann::json& event);
  std::string version_label(const std::string& sdk, const nlohmann::json& version);
  std::string error_type_label(const nlohmann::json& error_type);

  struct Bucket {
    double tokens;
    TimePoint updated;
  };

  const Clock& clock_;
  const TelemetryLimits limits_;
  metrics::Family<metrics::Histogram>& connect_duration_;
  metrics::Family<metrics::Counter>& events_;
  metrics::Family<metrics::Counter>& rejected_;

  std::mutex rate_mu_;
  std::map<std::string, Bucket> buckets_;

  std::mutex labels_mu_;
  std::set<std::pair<std::string, std::string>> versions_;  // (sdk, sdk_version) admitted
  std::set<std::string> error_types_;                       // admitted
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> errors_;
};

}  // namespace ithaca::api
