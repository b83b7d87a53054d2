#include "ithaca/store/rules.hpp"

#include <algorithm>
#include <utility>

namespace ithaca::store {

using session::SessionRecord;
using session::SessionState;

TimePoint to_stored_time(TimePoint t) {
  return from_unix_ms(to_unix_ms(t));
}

namespace {

void round_time(std::optional<TimePoint>& t) {
  if (t) *t = to_stored_time(*t);
}

std::string state_list(const std::vector<SessionState>& states) {
  std::string out;
  for (SessionState s : states) {
    if (!out.empty()) out += ", ";
    out += session::to_string(s);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

SessionRecord to_stored(SessionRecord record) {
  record.created_at = to_stored_time(record.created_at);
  round_time(record.connected_at);
  round_time(record.ended_at);
  round_time(record.token_expires_at);
  round_time(record.deadline_at);
  return record;
}

session::ApiKeyRecord to_stored(session::ApiKeyRecord key) {
  key.created_at = to_stored_time(key.created_at);
  round_time(key.revoked_at);
  return key;
}

Status validate_account(const session::Account& account) {
  if (account.name.empty()) return make_error(ErrorCode::invalid_request, "account name is empty");
  if (account.max_concurrent < 0) {
    return make_error(ErrorCode::invalid_request,
                      "account " + account.name + ": max_concurrent is negative");
  }
  return ok_status();
}

Status validate_api_key(const session::ApiKeyRecord& key) {
  if (key.key_id.empty()) return make_error(ErrorCode::invalid_request, "api key id is empty");
  if (key.account.empty()) {
    return make_error(ErrorCode::invalid_request, "api key " + key.key_id + " has no account");
  }
  if (key.secret_hash.empty()) {
    return make_error(ErrorCode::invalid_request, "api key " + key.key_id + " has no secret hash");
  }
  return ok_status();
}

Status validate_new_session(const SessionRecord& session) {
  if (session.id.empty()) return make_error(ErrorCode::invalid_request, "session id is empty");
  if (session.account.empty()) {
    return make_error(ErrorCode::invalid_request, "session " + session.id + " has no account");
  }
  if (!session.live()) {
    return make_error(ErrorCode::invalid_request,
                      "session " + session.id + " must be inserted in a live state");
  }
  return ok_status();
}

Error limit_reached(const std::string& account, int active_count, int limit) {
  return make_error(ErrorCode::CONCURRENT_LIMIT_REACHED,
                    "account " + account + " holds " + std::to_string(active_count) + " of " +
                        std::to_string(limit) + " live sessions",
                    {{"active_count", active_count}, {"limit", limit}});
}

Error unknown_account(const std::string& account) {
  return make_error(ErrorCode::invalid_request, "no such account: " + account);
}

Error session_not_found(const std::string& id) {
  return make_error(ErrorCode::session_not_found, "no such session: " + id);
}

Result<SessionRecord> apply_update(const SessionRecord& current,
                                   const session::SessionUpdate& update) {
  const auto& expected = update.expected_states;
  if (std::find(expected.begin(), expected.end(), current.state) == expected.end()) {
    const bool expects_live = std::any_of(expected.begin(), expected.end(),
                                          [](SessionState s) { return s != SessionState::ended; });
    const nlohmann::json details = {{"state", session::to_string(current.state)}};
    if (expects_live && current.state == SessionState::ended) {
      return make_error(ErrorCode::session_ended, "session " + current.id + " has ended", details);
    }
    if (expects_live && current.state == SessionState::connected) {
      return make_error(ErrorCode::session_already_connected,
                        "session " + current.id + " is already connected", details);
    }
    return make_error(ErrorCode::invalid_request,
                      "session " + current.id + " is " +
                          std::string(session::to_string(current.state)) + ", expected " +
                          state_list(expected),
                      details);
  }
  if (!current.live() && update.new_state != SessionState::ended) {
    // Reviving an ended session would take a slot without the limit check of insert_session.
    return make_error(ErrorCode::invalid_request,
                      "session " + current.id + " has ended and cannot become live again");
  }
  if (update.issue_token_jti) {
    if (update.issue_token_jti->empty()) {
      return make_error(ErrorCode::invalid_request, "token id to issue is empty");
    }
    if (!current.token_jti.empty()) {
      return make_error(ErrorCode::credential_already_issued,
                        "session " + current.id + " already has its credential");
    }
  }

  SessionRecord next = current;
  next.state = update.new_state;
  if (update.new_state != SessionState::ended) {
    next.end_cause = session::EndCause::none;
  } else if (current.live()) {
    next.end_cause = update.end_cause;  // the cause of the first end stays
  }
  if (update.connected_at && !next.connected_at) next.connected_at = update.connected_at;
  if (update.ended_at) next.ended_at = update.ended_at;
  if (update.set_deadline) next.deadline_at = update.deadline;
  if (update.issue_token_jti) {
    next.token_jti = *update.issue_token_jti;
    next.token_expires_at = update.token_expires_at;
  }
  return to_stored(std::move(next));
}

}  // namespace ithaca::store
