#include "ithaca/api/telemetry.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <string_view>

#include "ithaca/base/error.hpp"
#include "ithaca/net/http_server.hpp"

namespace ithaca::api {
namespace {

using nlohmann::json;

constexpr std::string_view kOther = "other";
constexpr std::array<std::string_view, 3> kSdks = {"python", "javascript", "web"};
constexpr std::array<std::string_view, 3> kEvents = {"session_connecting", "session_connected",
                                                     "session_disconnected"};
// The Python SDK's ClientErrorType values: always admitted, whatever the cap.
constexpr std::array<std::string_view, 5> kErrorTypes = {"auth", "connection", "stream", "usage",
                                                         "unknown"};
// String fields of an event and the most bytes each may have (the SDK cuts error_message at
// 2000 characters: up to 8000 bytes of UTF-8). None is kept; they are only checked.
constexpr std::array<std::pair<std::string_view, size_t>, 10> kStringFields = {{
    {"sdk_version", 64},
    {"sdk_platform", 64},
    {"platform_info", 256},
    {"session_id", 128},
    {"api_key_prefix", 64},
    {"event", 64},
    {"error_type", 64},
    {"error_message", 8000},
    {"error_code", 128},
    {"connection_status", 64},
}};
constexpr std::array<std::string_view, 2> kNumberFields = {"connect_duration_ms",
                                                           "session_duration_seconds"};
constexpr double kMaxConnectMs = 3'600'000;  // longer than an hour is not a connect time

template <size_t N>
bool one_of(const std::array<std::string_view, N>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// "1.3.0", "1.3", "2.0.0rc1", "1.4.0-beta.2", "1.3.0.dev0": release numbers, then an optional
// short pre-release or local tag.
bool version_shaped(const std::string& v) {
  static const std::regex shape(R"([0-9]{1,4}(\.[0-9]{1,4}){1,3}([-+.]?[0-9A-Za-z]{1,12}){0,2})");
  return v.size() <= 32 && std::regex_match(v, shape);
}

bool error_type_shaped(const std::string& v) {
  if (v.empty() || v.size() > 32 || v[0] < 'a' || v[0] > 'z') return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

const json* field(const json& event, std::string_view name) {
  auto it = event.find(name);
  return it == event.end() || it->is_null() ? nullptr : &*it;
}

// Types and lengths of the fields the SDK sends; unknown fields are ignored.
bool well_typed(const json& event) {
  if (!event.is_object()) return false;
  for (const auto& [name, max] : kStringFields) {
    const json* v = field(event, name);
    if (v && (!v->is_string() || v->get_ref<const std::string&>().size() > max)) return false;
  }
  for (const auto name : kNumberFields) {
    const json* v = field(event, name);
    if (v && (!v->is_number() || v->get<double>() < 0 || !std::isfinite(v->get<double>()))) {
      return false;
    }
  }
  // Either a lifecycle event or an error report.
  return (field(event, "event") != nullptr) != (field(event, "error_type") != nullptr);
}

net::HttpResponse rejected(ErrorCode code, std::string detail = {}, json details = json::object()) {
  return net::error_response(make_error(code, std::move(detail), std::move(details)));
}

}  // namespace

TelemetryIntake::TelemetryIntake(metrics::Registry& metrics, const Clock& clock,
                                 TelemetryLimits limits)
    : clock_(clock),
      limits_(limits),
      connect_duration_(metrics.histogram_family(
          "ithaca_client_connect_duration_seconds",
          "Connect time reported by client SDKs (POST /telemetry), by SDK.", "sdk",
          {0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60})),
      events_(metrics.counter_family("ithaca_client_events_total",
                                     "Events reported by client SDKs (POST /telemetry), by kind.",
                                     "event")),
      rejected_(metrics.counter_family(
          "ithaca_telemetry_rejected_total",
          "POST /telemetry requests refused and events dropped, by reason.", "reason")) {
  for (const auto t : kErrorTypes) error_types_.emplace(t);
  metrics.counter_reader(
      "ithaca_client_errors_total",
      "Errors reported by client SDKs (POST /telemetry), by SDK, SDK version and error type.",
      {"sdk", "sdk_version", "error_type"}, [this] {
        std::vector<std::pair<std::vector<std::string>, double>> out;
        std::lock_guard lock(labels_mu_);
        for (const auto& [key, n] : errors_) {
          out.push_back(
              {{std::get<0>(key), std::get<1>(key), std::get<2>(key)}, static_cast<double>(n)});
        }
        return out;
      });
}

int64_t TelemetryIntake::acquire(const std::string& address) {
  const TimePoint now = clock_.now();
  std::lock_guard lock(rate_mu_);
  auto refill = [&](Bucket& b) {
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    if (elapsed > 0)
      b.tokens = std::min(limits_.burst, b.tokens + elapsed * limits_.rate_per_second);
    b.updated = now;
  };
  auto it = buckets_.find(address);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limits_.max_addresses) {
      // Forget the addresses whose buckets are full again: they are as good as new.
      for (auto e = buckets_.begin(); e != buckets_.end();) {
        refill(e->second);
        e = e->second.tokens >= limits_.burst ? buckets_.erase(e) : std::next(e);
      }
      if (buckets_.size() >= limits_.max_addresses) return 1;
    }
    it = buckets_.emplace(address, Bucket{limits_.burst, now}).first;
  }
  Bucket& b = it->second;
  refill(b);
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil((1 - b.tokens) / limits_.rate_per_second)));
}

std::string TelemetryIntake::version_label(const std::string& sdk, const json& version) {
  if (!version.is_string()) return std::string(kOther);
  const auto& v = version.get_ref<const std::string&>();
  if (sdk == kOther || !version_shaped(v)) return std::string(kOther);
  // labels_mu_ is held by the caller.
  if (versions_.contains({sdk, v})) return v;
  if (versions_.size() >= limits_.max_sdk_versions) return std::string(kOther);
  versions_.emplace(sdk, v);
  return v;
}

std::string TelemetryIntake::error_type_label(const json& error_type) {
  const auto& t = error_type.get_ref<const std::string&>();
  // labels_mu_ is held by the caller.
  if (error_types_.contains(t)) return t;
  if (!error_type_shaped(t) || error_types_.size() >= limits_.max_error_types) {
    return std::string(kOther);
  }
  error_types_.insert(t);
  return t;
}

bool TelemetryIntake::fold(const json& event) {
  if (!well_typed(event)) return false;
  const json* platform = field(event, "sdk_platform");
  const std::string sdk = platform && one_of(kSdks, platform->get_ref<const std::string&>())
                              ? platform->get<std::string>()
                              : std::string(kOther);
  if (const json* type = field(event, "error_type")) {
    std::lock_guard lock(labels_mu_);
    const json* version = field(event, "sdk_version");
    ++errors_[{sdk, version_label(sdk, version ? *version : json()), error_type_label(*type)}];
    events_.with("error").inc();
    return true;
  }
  const auto& name = field(event, "event")->get_ref<const std::string&>();
  const bool known = one_of(kEvents, name);
  events_.with(known ? name : std::string(kOther)).inc();
  if (name == "session_connected") {
    if (const json* ms = field(event, "connect_duration_ms");
        ms && ms->get<double>() <= kMaxConnectMs) {
      connect_duration_.with(sdk).observe(ms->get<double>() / 1000.0);
    }
  }
  return true;
}

net::HttpResponse TelemetryIntake::handle(const net::HttpRequest& request) {
  if (const int64_t wait = acquire(request.remote_address); wait > 0) {
    rejected_.with("rate_limited").inc();
    return rejected(ErrorCode::RATE_LIMITED, "too many telemetry reports from this address",
                    {{"retry_after_seconds", wait}});
  }
  if (request.body.size() > limits_.max_body_bytes) {
    rejected_.with("too_large").inc();
    return rejected(
        ErrorCode::request_too_large,
        "a telemetry report is at most " + std::to_string(limits_.max_body_bytes) + " bytes");
  }
  const std::string_view type = request.header("content-type");
  if (!type.empty() && type.find("json") == std::string_view::npos) {
    rejected_.with("malformed").inc();
    return rejected(ErrorCode::unsupported_media_type);
  }
  const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    rejected_.with("malformed").inc();
    return rejected(ErrorCode::invalid_json);
  }
  const json* events = body.is_object() ? field(body, "events") : nullptr;
  if (!events || !events->is_array()) {
    rejected_.with("malformed").inc();
    return rejected(ErrorCode::invalid_request, "the body must be {\"events\": [...]}");
  }
  int accepted = 0, dropped = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    if (i >= limits_.max_events) {
      rejected_.with("too_many_events").inc(events->size() - i);
      dropped += static_cast<int>(events->size() - i);
      break;
    }
    if (fold((*events)[i])) {
      ++accepted;
    } else {
      rejected_.with("invalid_event").inc();
      ++dropped;
    }
  }
  net::HttpResponse r;
  r.status = 202;
  r.body = json{{"accepted", accepted}, {"dropped", dropped}}.dump();
  return r;
}

}  // namespace ithaca::api
