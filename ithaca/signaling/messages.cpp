#include "ithaca/signaling/messages.hpp"

#include <vector>

#include "ithaca/signaling/model_fields.hpp"

namespace ithaca::signaling {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr std::string_view kStreamStart = "interactive_stream_start";

ClientMessage invalid(std::string problem, std::string type = {}) {
  return {ClientMessageKind::invalid, std::move(type), std::move(problem)};
}

// Finds the top-level "type" of a large message without building a DOM of it, and stops as soon
// as that type is anything but interactive_stream_start. The whole text must still be valid JSON.
// A top-level "params" (small by rule) is the one part built, so it can be checked.
class TopLevelType final : public nlohmann::json_sax<json> {
 public:
  std::string type;
  bool has_type = false;
  bool not_object = false;
  bool wrong_type = false;
  bool has_params = false;
  json params;  // the top-level "params", when it was an object
  std::string params_problem;

  bool null() override { return building_ ? put(nullptr) : value(); }
  bool boolean(bool b) override { return building_ ? put(b) : value(); }
  bool number_integer(number_integer_t n) override { return building_ ? put(n) : value(); }
  bool number_unsigned(number_unsigned_t n) override { return building_ ? put(n) : value(); }
  bool number_float(number_float_t n, const string_t&) override {
    return building_ ? put(n) : value();
  }
  bool binary(binary_t&) override { return value(); }
  bool string(string_t& s) override {
    if (building_) return put(s);
    if (depth_ == 1 && type_next_) {
      type_next_ = false;
      has_type = true;
      type = s;
      if (type != kStreamStart) {
        wrong_type = true;
        return false;
      }
      return true;
    }
    return value();
  }
  bool start_object(std::size_t) override {
    if (building_) return open(json::object());
    if (depth_ == 0 && started_) return false;
    started_ = true;
    type_next_ = false;
    if (depth_ == 1 && params_next_) {
      params_next_ = false;
      has_params = true;
      building_ = true;
      params = json::object();
      stack_ = {&params};
    }
    ++depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (building_) {
      key_ = k;
      return true;
    }
    type_next_ = depth_ == 1 && k == "type";
    params_next_ = depth_ == 1 && k == "params";
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override {
    if (building_) return open(json::array());
    if (depth_ == 0) {
      not_object = true;
      return false;
    }
    not_params();
    type_next_ = false;
    ++depth_;
    return true;
  }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool value() {
    if (depth_ == 0) {
      not_object = true;
      return false;
    }
    if (depth_ == 1 && type_next_) {  // "type" with a non-string value
      type_next_ = false;
      wrong_type = true;
      return false;
    }
    not_params();
    return true;
  }
  void not_params() {
    if (depth_ == 1 && params_next_) {
      params_next_ = false;
      has_params = true;
      params_problem = "params must be a JSON object";
    }
  }
  // Building params: adds a value to the innermost open container.
  json* add(json v) {
    json* top = stack_.back();
    if (top->is_object()) return &((*top)[key_] = std::move(v));
    top->push_back(std::move(v));
    return &top->back();
  }
  bool put(json v) {
    add(std::move(v));
    return true;
  }
  bool open(json container) {
    stack_.push_back(add(std::move(container)));
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    if (building_) {
      stack_.pop_back();
      building_ = !stack_.empty();
    }
    return true;
  }

  int depth_ = 0;
  bool started_ = false;
  bool type_next_ = false;
  bool params_next_ = false;
  bool building_ = false;
  std::vector<json*> stack_;
  std::string key_;
};

ClientMessage classify_large(std::string_view text, size_t small_limit) {
  const std::string too_big = "message over " + std::to_string(small_limit) +
                              " bytes; only interactive_stream_start may be larger";
  TopLevelType sax;
  const bool ok = json::sax_parse(text, &sax);
  if (sax.wrong_type) return invalid(too_big, sax.type);
  if (sax.not_object) return invalid("not a JSON object");
  if (!ok) return invalid("not valid JSON");
  if (!sax.has_type) return invalid("no string \"type\"");
  if (!sax.params_problem.empty()) return invalid(sax.params_problem, sax.type);
  if (sax.has_params) {
    if (auto problem = check_stream_params(sax.params); !problem.empty()) {
      return invalid(std::move(problem), sax.type);
    }
  }
  return {ClientMessageKind::relay, sax.type, {}};
}

bool optional_string(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() || it->is_string();
}

bool optional_index(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() || it->is_null() || it->is_number_unsigned() ||
         (it->is_number_integer() && it->get<int64_t>() >= 0);
}

bool safe_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

bool valid_capacity(const json& j) {
  return j.is_number_integer() && j.get<int64_t>() >= 0 && j.get<int64_t>() <= 1024;
}

StreamerMessage streamer_invalid(std::string problem, std::string type = {}) {
  StreamerMessage m;
  m.kind = StreamerMessageKind::invalid;
  m.type = std::move(type);
  m.problem = std::move(problem);
  return m;
}

}  // namespace

ClientMessage classify_client_message(std::string_view text, size_t small_limit) {
  if (text.size() > small_limit) return classify_large(text, small_limit);
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid("not valid JSON");
  if (!j.is_object()) return invalid("not a JSON object");
  const auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return invalid("no string \"type\"");
  std::string type = t->get<std::string>();
  if (type == "keepalive") return {ClientMessageKind::keepalive, std::move(type), {}};
  if (type == "client_disconnecting") {
    return {ClientMessageKind::client_disconnecting, std::move(type), {}};
  }
  if (type == "answer") {
    const auto sdp = j.find("sdp");
    if (sdp == j.end() || !sdp->is_string() || sdp->get_ref<const std::string&>().empty()) {
      return invalid("answer needs a non-empty string \"sdp\"", std::move(type));
    }
    return {ClientMessageKind::relay, std::move(type), {}};
  }
  if (type == "ice_candidate") {
    const auto candidate = j.find("candidate");
    if (candidate == j.end() || !candidate->is_string() || !optional_string(j, "sdpMid") ||
        !optional_index(j, "sdpMLineIndex")) {
      return invalid(
          "ice_candidate needs a string \"candidate\", \"sdpMid\" a string or null and "
          "\"sdpMLineIndex\" a non-negative integer or null",
          std::move(type));
    }
    return {ClientMessageKind::relay, std::move(type), {}};
  }
  if (type == kStreamStart) {
    if (const auto params = j.find("params"); params != j.end()) {
      if (auto problem = check_stream_params(*params); !problem.empty()) {
        return invalid(std::move(problem), std::move(type));
      }
    }
    return {ClientMessageKind::relay, std::move(type), {}};
  }
  return invalid("unknown message type", std::move(type));
}

std::string error_message(const Error& error) {
  const ErrorInfo& row = info(error.code);
  ojson m = {
      {"type", "error"},
      {"reason", row.code},
      {"message", error.detail.empty() ? std::string(row.message) : error.detail},
      {"retryable", row.retryable},
  };
  if (!row.action.empty()) m["action"] = row.action;
  // A detail may hold text a streamer sent, cut to a length: never throw on a split character.
  return m.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

bool valid_streamer_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!safe_id_char(c)) return false;
  }
  return true;
}

StreamerMessage parse_streamer_message(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return streamer_invalid("not valid JSON");
  if (!j.is_object()) return streamer_invalid("not a JSON object");
  const auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return streamer_invalid("no string \"type\"");
  const std::string type = t->get<std::string>();

  if (type == "register") {
    StreamerMessage m;
    m.kind = StreamerMessageKind::register_;
    m.type = type;
    auto& info = m.registration.info;
    const auto id = j.find("streamer_id");
    if (id == j.end() || !id->is_string() || !valid_streamer_id(id->get<std::string>())) {
      return streamer_invalid("streamer_id must be 1..64 of [A-Za-z0-9._-]", type);
    }
    info.id = id->get<std::string>();
    const auto capacity = j.find("capacity");
    if (capacity == j.end() || !valid_capacity(*capacity)) {
      return streamer_invalid("capacity must be an integer 0..1024", type);
    }
    info.capacity = static_cast<int>(capacity->get<int64_t>());
    if (const auto caps = j.find("capabilities"); caps != j.end()) {
      if (!caps->is_object()) return streamer_invalid("capabilities must be an object", type);
      for (const auto& [name, value] : caps->items()) {
        if (!value.is_boolean() || name.empty() || name.size() > 64) {
          return streamer_invalid("capabilities must map names to booleans", type);
        }
        info.capabilities[name] = value.get<bool>();
      }
    }
    if (const auto version = j.find("version"); version != j.end()) {
      if (!version->is_string() || version->get_ref<const std::string&>().size() > 64) {
        return streamer_invalid("version must be a string of at most 64 bytes", type);
      }
      m.registration.version = version->get<std::string>();
      info.version = m.registration.version;
    }
    if (const auto model = j.find("model"); model != j.end()) {
      if (auto problem = parse_model(*model, info.model); !problem.empty()) {
        return streamer_invalid(std::move(problem), type);
      }
    }
    return m;
  }

  if (type == "capacity") {
    StreamerMessage m;
    m.kind = StreamerMessageKind::capacity;
    m.type = type;
    const auto capacity = j.find("capacity");
    if (capacity == j.end() || !valid_capacity(*capacity)) {
      return streamer_invalid("capacity must be an integer 0..1024", type);
    }
    m.capacity = static_cast<int>(capacity->get<int64_t>());
    if (const auto degraded = j.find("degraded"); degraded != j.end()) {
      if (!degraded->is_boolean()) return streamer_invalid("degraded must be a boolean", type);
      m.degraded = degraded->get<bool>();
    }
    return m;
  }

  if (type == "session_end") {
    const auto sid = j.find("session_id");
    if (sid == j.end() || !sid->is_string() || sid->get_ref<const std::string&>().empty() ||
        sid->get_ref<const std::string&>().size() > 128) {
      return streamer_invalid("session_id must be a string of 1..128 bytes", type);
    }
    const auto reason = j.find("reason");
    if (reason == j.end() || !reason->is_string() || *reason != "idle_timeout") {
      return streamer_invalid("reason must be \"idle_timeout\"", type);
    }
    StreamerMessage m;
    m.kind = StreamerMessageKind::session_end;
    m.type = type;
    m.session_id = sid->get<std::string>();
    return m;
  }

  if (type == "signal" || type == "session_failed") {
    const auto sid = j.find("session_id");
    if (sid == j.end() || !sid->is_string() || sid->get_ref<const std::string&>().empty()) {
      return streamer_invalid("session_id must be a non-empty string", type);
    }
    StreamerMessage m;
    m.type = type;
    m.session_id = sid->get<std::string>();
    if (type == "signal") {
      const auto inner = j.find("message");
      if (inner == j.end() || !inner->is_object() || !inner->contains("type") ||
          !(*inner)["type"].is_string()) {
        return streamer_invalid("message must be an object with a string \"type\"", type);
      }
      m.kind = StreamerMessageKind::signal;
      m.message = inner->dump();
      return m;
    }
    m.kind = StreamerMessageKind::session_failed;
    if (const auto reason = j.find("reason"); reason != j.end() && reason->is_string()) {
      ErrorCode code;
      if (parse_error_code(reason->get<std::string>(), code)) m.reason = code;
    }
    if (const auto text = j.find("message"); text != j.end() && text->is_string()) {
      m.reason_message = text->get<std::string>();
      if (m.reason_message.size() > 512) m.reason_message.resize(512);
    }
    return m;
  }

  if (is_broadcast_message_type(type)) {
    for (const char* field : {"session_id", "stream_id"}) {
      const auto f = j.find(field);
      if (f == j.end() || !f->is_string() || f->get_ref<const std::string&>().empty() ||
          f->get_ref<const std::string&>().size() > 128) {
        return streamer_invalid(std::string(field) + " must be a string of 1..128 bytes", type);
      }
    }
    StreamerMessage m;
    m.kind = StreamerMessageKind::broadcast;
    m.type = type;
    m.session_id = j["session_id"].get<std::string>();
    m.body = std::move(j);
    return m;
  }
  return streamer_invalid("unknown message type", type);
}

bool is_broadcast_message_type(std::string_view type) {
  return type == "broadcast_open" || type == "broadcast_close" || type == "viewer_answer" ||
         type == "viewer_failed" || type == "viewer_closed" || type == "hls_segment";
}

std::string registered_message(const std::string& streamer_id, int64_t max_stream_seconds,
                               int64_t idle_timeout_seconds) {
  return ojson{{"type", "registered"},
               {"streamer_id", streamer_id},
               {"max_stream_seconds", max_stream_seconds},
               {"idle_timeout_seconds", idle_timeout_seconds}}
      .dump();
}

std::string session_open_message(const std::string& session_id, bool resumed) {
  return ojson{{"type", "session_open"}, {"session_id", session_id}, {"resumed", resumed}}.dump();
}

std::string session_close_message(const std::string& session_id, std::string_view reason) {
  return ojson{{"type", "session_close"}, {"session_id", session_id}, {"reason", reason}}.dump();
}

std::string signal_message(const std::string& session_id, std::string_view message_json) {
  std::string out = R"({"type":"signal","session_id":)";
  out += json(session_id).dump();
  out += R"(,"message":)";
  out += message_json;
  out += '}';
  return out;
}

}  // namespace ithaca::signaling
