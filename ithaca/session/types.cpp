#include "ithaca/session/types.hpp"

#include <array>
#include <utility>

namespace ithaca::session {
namespace {

constexpr std::array<std::pair<SessionState, std::string_view>, 4> kStates = {{
    {SessionState::provisioned, "provisioned"},
    {SessionState::connected, "connected"},
    {SessionState::dropped, "dropped"},
    {SessionState::ended, "ended"},
}};

constexpr std::array<std::pair<EndCause, std::string_view>, 7> kCauses = {{
    {EndCause::none, "none"},
    {EndCause::client_disconnect, "client_disconnect"},
    {EndCause::token_expired, "token_expired"},
    {EndCause::idle_timeout, "idle_timeout"},
    {EndCause::operator_ended, "operator_ended"},
    {EndCause::streamer_disconnected, "streamer_disconnected"},
    {EndCause::duration_limit, "duration_limit"},
}};

template <class E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <class E, size_t N>
bool value_of(const std::array<std::pair<E, std::string_view>, N>& table, std::string_view text,
              E& out) {
  for (const auto& [v, name] : table) {
    if (name == text) {
      out = v;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view to_string(SessionState state) {
  return name_of(kStates, state);
}
bool parse_session_state(std::string_view text, SessionState& out) {
  return value_of(kStates, text, out);
}
std::string_view to_string(EndCause cause) {
  return name_of(kCauses, cause);
}
bool parse_end_cause(std::string_view text, EndCause& out) {
  return value_of(kCauses, text, out);
}

}  // namespace ithaca::session
