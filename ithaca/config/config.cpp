#include "ithaca/config/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>
#include <variant>

extern char** environ;

namespace ithaca::config {
namespace {

using Member = std::variant<std::string Config::*, int64_t Config::*, bool Config::*,
                            double Config::*, std::vector<std::string> Config::*>;

struct Field {
  std::string section, key;
  Member member;
};

const std::vector<Field>& fields() {
  static const std::vector<Field> all = {
      {"server", "listen", &Config::listen},
      {"server", "public_url", &Config::public_url},
      {"server", "data_dir", &Config::data_dir},
      {"server", "store", &Config::store},
      {"server", "io_threads", &Config::io_threads},
      {"server", "worker_threads", &Config::worker_threads},
      {"server", "max_body_bytes", &Config::max_body_bytes},
      {"server", "dev", &Config::dev},
      {"server", "log_level", &Config::log_level},
      {"tokens", "ttl_seconds", &Config::ttl_seconds},
      {"tokens", "leeway_seconds", &Config::leeway_seconds},
      {"tokens", "audience", &Config::audience},
      {"tokens", "signing_key", &Config::signing_key},
      {"tokens", "verification_keys", &Config::verification_keys},
      {"sessions", "idle_timeout_seconds", &Config::idle_timeout_seconds},
      {"sessions", "sweep_interval_ms", &Config::sweep_interval_ms},
      {"sessions", "default_max_concurrent", &Config::default_max_concurrent},
      {"sessions", "metadata_max_entries", &Config::metadata_max_entries},
      {"sessions", "metadata_max_bytes", &Config::metadata_max_bytes},
      {"sessions", "retention_hours", &Config::retention_hours},
      {"sessions", "mint_rate_per_second", &Config::mint_rate_per_second},
      {"sessions", "mint_burst", &Config::mint_burst},
      {"sessions", "streamer_reconnect_grace_seconds", &Config::streamer_reconnect_grace_seconds},
      {"auth", "max_failures_per_address", &Config::max_failures_per_address},
      {"auth", "max_failures_per_key", &Config::max_failures_per_key},
      {"auth", "failure_window_seconds", &Config::failure_window_seconds},
      {"metrics", "bearer_token", &Config::metrics_bearer_token},
      {"metrics", "bearer_token_sha256", &Config::metrics_bearer_token_sha256},
      {"odyssey", "access_token_ttl_seconds", &Config::access_token_ttl_seconds},
      {"odyssey", "region", &Config::region},
      {"signaling", "ice_servers", &Config::ice_servers},
      {"signaling", "turn_username", &Config::turn_username},
      {"signaling", "turn_credential", &Config::turn_credential},
      {"signaling", "cors_origins", &Config::cors_origins},
      {"signaling", "max_connection_seconds", &Config::max_connection_seconds},
      {"streaming", "max_stream_seconds", &Config::max_stream_seconds},
      {"streaming", "streamer_secret", &Config::streamer_secret},
      {"streaming", "local_encoder", &Config::local_encoder},
      {"streaming", "local_capacity", &Config::local_capacity},
      {"streaming", "idle_timeout_seconds", &Config::stream_idle_timeout_seconds},
      {"streaming", "default_model", &Config::default_model},
      {"broadcast", "max_spectators", &Config::max_spectators},
      {"broadcast", "spectator_token_ttl_seconds", &Config::spectator_token_ttl_seconds},
      {"cluster", "node_id", &Config::node_id},
      {"cluster", "lease_ms", &Config::lease_ms},
  };
  return all;
}

const Field* find_field(const std::string& section, const std::string& key) {
  for (const auto& f : fields()) {
    if (f.section == section && f.key == key) return &f;
  }
  return nullptr;
}

bool known_section(const std::string& section) {
  return std::any_of(fields().begin(), fields().end(),
                     [&](const Field& f) { return f.section == section; });
}

Error invalid(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::config_invalid, where + ": " + what);
}

Status set_from_toml(Config& c, const Field& f, const toml::node& node, const std::string& where) {
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!node.is_string()) return invalid(where, "expected a string");
          c.*member = node.as_string()->get();
        } else if constexpr (std::is_same_v<T, int64_t>) {
          if (!node.is_integer()) return invalid(where, "expected an integer");
          c.*member = node.as_integer()->get();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!node.is_boolean()) return invalid(where, "expected true or false");
          c.*member = node.as_boolean()->get();
        } else if constexpr (std::is_same_v<T, double>) {
          if (!node.is_number()) return invalid(where, "expected a number");
          c.*member = node.value<double>().value_or(0);
        } else {
          const auto* arr = node.as_array();
          if (!arr) return invalid(where, "expected a list of strings");
          std::vector<std::string> out;
          for (const auto& item : *arr) {
            if (!item.is_string()) return invalid(where, "expected a list of strings");
            out.push_back(item.as_string()->get());
          }
          c.*member = std::move(out);
        }
        return ok_status();
      },
      f.member);
}

Status set_from_text(Config& c, const Field& f, const std::string& text, const std::string& where) {
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          c.*member = text;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          try {
            size_t used = 0;
            const int64_t v = std::stoll(text, &used);
            if (used != text.size()) return invalid(where, "expected an integer");
            c.*member = v;
          } catch (const std::exception&) {
            return invalid(where, "expected an integer");
          }
        } else if constexpr (std::is_same_v<T, bool>) {
          if (text == "true" || text == "1") {
            c.*member = true;
          } else if (text == "false" || text == "0") {
            c.*member = false;
          } else {
            return invalid(where, "expected true or false");
          }
        } else if constexpr (std::is_same_v<T, double>) {
          try {
            size_t used = 0;
            const double v = std::stod(text, &used);
            if (used != text.size()) return invalid(where, "expected a number");
            c.*member = v;
          } catch (const std::exception&) {
            return invalid(where, "expected a number");
          }
        } else {
          std::vector<std::string> out;
          std::stringstream in(text);
          for (std::string item; std::getline(in, item, ',');) {
            if (!item.empty()) out.push_back(item);
          }
          c.*member = std::move(out);
        }
        return ok_status();
      },
      f.member);
}

}  // namespace

Status apply_toml(Config& config, const std::string& text, const std::string& origin) {
  toml::table doc;
  try {
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << e.description() << " (line " << e.source().begin.line << ")";
    return invalid(origin, msg.str());
  }
  for (const auto& [section, node] : doc) {
    const std::string name(section.str());
    const auto* table = node.as_table();
    if (!table || !known_section(name)) return invalid(origin, "unknown config key '" + name + "'");
    for (const auto& [key, value] : *table) {
      const std::string where = name + "." + std::string(key.str());
      const Field* f = find_field(name, std::string(key.str()));
      if (!f) return invalid(origin, "unknown config key '" + where + "'");
      if (auto s = set_from_toml(config, *f, value, origin + ": " + where); !s) return s;
    }
  }
  return ok_status();
}

Status apply_file(Config& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid(path, "cannot read the config file");
  std::stringstream text;
  text << in.rdbuf();
  return apply_toml(config, text.str(), path);
}

Status apply_env(Config& config, const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) {
    if (name.rfind("ITHACA_", 0) != 0) continue;
    const std::string rest = name.substr(7);
    const auto cut = rest.find('_');
    if (cut == std::string::npos) continue;
    std::string section = rest.substr(0, cut);
    for (auto& ch : section) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!known_section(section)) continue;  // e.g. ITHACA_API_KEY belongs to the SDKs
    std::string key = rest.substr(cut + 1);
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const Field* f = find_field(section, key);
    if (!f) return invalid("environment", "unknown config key '" + name + "'");
    if (auto s = set_from_text(config, *f, value, "environment: " + name); !s) return s;
  }
  return ok_status();
}

Result<Config> load(const std::string& path) {
  Config c;
  if (!path.empty()) {
    if (auto s = apply_file(c, path); !s) return s.error();
  }
  if (auto s = apply_env(c, process_env()); !s) return s.error();
  return c;
}

std::map<std::string, std::string> process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

Result<HostPort> parse_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return invalid("listen", "expected HOST:PORT, got '" + text + "'");
  }
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char ch) { return std::isdigit(ch); }) ||
      std::stoi(port) > 65535) {
    return invalid("listen", "bad port in '" + text + "'");
  }
  hp.port = static_cast<uint16_t>(std::stoi(port));
  return hp;
}

int64_t stream_idle_timeout(const Config& config) {
  if (config.stream_idle_timeout_seconds >= 0) return config.stream_idle_timeout_seconds;
  return config.dev ? 0 : 40;
}

Status validate(const Config& c) {
  if (auto hp = parse_host_port(c.listen); !hp) return hp.error();
  auto positive = [](int64_t v, const char* name) -> Status {
    if (v <= 0) return invalid(name, "must be positive");
    return ok_status();
  };
  for (auto [v, name] : {std::pair{c.io_threads, "server.io_threads"},
                         {c.worker_threads, "server.worker_threads"},
                         {c.max_body_bytes, "server.max_body_bytes"},
                         {c.ttl_seconds, "tokens.ttl_seconds"},
                         {c.idle_timeout_seconds, "sessions.idle_timeout_seconds"},
                         {c.sweep_interval_ms, "sessions.sweep_interval_ms"},
                         {c.retention_hours, "sessions.retention_hours"},
                         {c.access_token_ttl_seconds, "odyssey.access_token_ttl_seconds"}}) {
    if (auto s = positive(v, name); !s) return s;
  }
  if (c.io_threads > 64) return invalid("server.io_threads", "at most 64");
  if (c.worker_threads > 1024) return invalid("server.worker_threads", "at most 1024");
  if (c.leeway_seconds < 0 || c.leeway_seconds > 300) {
    return invalid("tokens.leeway_seconds", "must be 0..300");
  }
  if (c.default_max_concurrent < 0 || c.metadata_max_entries < 0 || c.metadata_max_bytes < 0) {
    return invalid("sessions", "limits must not be negative");
  }
  if (c.streamer_reconnect_grace_seconds < 0 || c.streamer_reconnect_grace_seconds > 86400) {
    return invalid("sessions.streamer_reconnect_grace_seconds", "must be 0..86400");
  }
  if (c.mint_rate_per_second < 0 || c.mint_burst < 0) {
    return invalid("sessions.mint_rate_per_second", "must not be negative");
  }
  if (c.max_failures_per_address < 0 || c.max_failures_per_key < 0) {
    return invalid("auth.max_failures_per_address", "must not be negative (0 turns it off)");
  }
  if (c.failure_window_seconds < 1 || c.failure_window_seconds > 86400) {
    return invalid("auth.failure_window_seconds", "must be 1..86400");
  }
  if (!c.metrics_bearer_token.empty() && !c.metrics_bearer_token_sha256.empty()) {
    return invalid("metrics.bearer_token", "set bearer_token or bearer_token_sha256, not both");
  }
  if (!c.metrics_bearer_token_sha256.empty() &&
      (c.metrics_bearer_token_sha256.size() != 64 ||
       c.metrics_bearer_token_sha256.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return invalid("metrics.bearer_token_sha256", "must be 64 lower-case hex digits");
  }
  if (c.max_spectators < 0 || c.max_spectators > 100000) {
    return invalid("broadcast.max_spectators", "must be 0..100000");
  }
  if (c.spectator_token_ttl_seconds < 60 || c.spectator_token_ttl_seconds > 86400) {
    return invalid("broadcast.spectator_token_ttl_seconds", "must be 60..86400");
  }
  if (c.stream_idle_timeout_seconds < -1) {
    return invalid("streaming.idle_timeout_seconds", "must be 0 (off) or more");
  }
  if (!c.default_model.empty() && c.default_model.size() > 64) {
    return invalid("streaming.default_model", "must be a model name of at most 64 bytes");
  }
  if (c.max_connection_seconds < 0 || c.max_stream_seconds < 0) {
    return invalid("duration caps", "must not be negative (0 turns a cap off)");
  }
  if (c.local_capacity <= 0 || c.local_capacity > 64) {
    return invalid("streaming.local_capacity", "must be 1..64");
  }
  if (c.local_encoder != "x264" && c.local_encoder != "openh264" && c.local_encoder != "vp8") {
    return invalid("streaming.local_encoder", "must be x264, openh264 or vp8");
  }
  for (const auto& url : c.ice_servers) {
    if (url.rfind("stun:", 0) != 0 && url.rfind("stuns:", 0) != 0 && url.rfind("turn:", 0) != 0 &&
        url.rfind("turns:", 0) != 0) {
      return invalid("signaling.ice_servers", "'" + url + "' is not a stun: or turn: URL");
    }
  }
  if (c.audience.empty()) return invalid("tokens.audience", "must not be empty");
  if (c.lease_ms < 500 || c.lease_ms > 60000)
    return invalid("cluster.lease_ms", "must be 500..60000");
  if (c.node_id.size() > 64 || !std::all_of(c.node_id.begin(), c.node_id.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
      })) {
    return invalid("cluster.node_id", "at most 64 letters, digits, '_' or '-'");
  }
  if (!c.public_url.empty() && c.public_url.rfind("http://", 0) != 0 &&
      c.public_url.rfind("https://", 0) != 0) {
    return invalid("server.public_url", "must start with http:// or https://");
  }
  return ok_status();
}

std::vector<std::string> known_keys() {
  std::vector<std::string> keys;
  for (const auto& f : fields()) keys.push_back(f.section + "." + f.key);
  return keys;
}

}  // namespace ithaca::config
