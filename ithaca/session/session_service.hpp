// SessionService: the control plane's rules in one place. It mints client credentials
// (placement, slot, token), answers the account's questions about its sessions, ends sessions,
// and applies the lifecycle of docs/life-of-a-session.md to connection events and to time
// (sweep()). It owns no thread: the HTTP server calls it from its workers, signaling from its
// own, and the Sweeper calls sweep() on a timer. Thread-safe; every rule that needs atomicity is
// a compare-and-set in the Store, so racing calls cannot both win.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ithaca/auth/token.hpp"
#include "ithaca/base/clock.hpp"
#include "ithaca/metrics/metrics.hpp"
#include "ithaca/session/connection_events.hpp"
#include "ithaca/session/credentials.hpp"
#include "ithaca/session/rate_limiter.hpp"
#include "ithaca/session/store.hpp"
#include "ithaca/session/streamer_registry.hpp"

namespace ithaca::session {

struct SessionRules {
  seconds token_ttl{600};     // the seed's 10 minutes
  seconds idle_timeout{900};  // never-connected sessions end after 15 minutes
  seconds token_leeway{5};    // clock skew tolerated when verifying
  std::string audience = "ithaca";
  std::string signaling_url;  // what credentials point clients to
  size_t metadata_max_entries = 16;
  size_t metadata_max_bytes = 4096;  // keys + values, so a session row stays small
  double mint_rate_per_second = 0;   // per account; 0 = unlimited
  double mint_burst = 1;
  std::string default_model;  // placed on when a mint names no model; empty: any streamer
};

struct SessionMetrics {
  explicit SessionMetrics(metrics::Registry& registry);
  metrics::Counter& mints;
  metrics::Family<metrics::Counter>& rejections;  // by error code
  metrics::Family<metrics::Counter>& ended;       // by end cause
  metrics::Family<metrics::Counter>& lifecycle;   // connects, resumes, drops
};

struct IssuedToken {
  std::string session_token;
  int64_t expires_in = 0;
};

struct Usage {
  int active = 0;
  int limit = 0;
};

class SessionService final : public ConnectionEvents {
 public:
  SessionService(Store& store, StreamerRegistry& registry,
                 std::shared_ptr<const auth::TokenKeyRing> keys, const Clock& clock,
                 SessionRules rules, SessionMetrics& metrics);

  // Provisions a session on a streamer and issues its one credential.
  // `model`: a streamer serving it (rules().default_model when empty; any when both are).
  Result<ClientCredentials> mint(const std::string& account, const Metadata& metadata,
                                 const Capabilities& required = {}, const std::string& model = {});
  // mint() without a waiting thread: `done` runs once, on any thread, when the session is
  // durable (or refused). The HTTP route uses this so a mint holds no thread during the fsync.
  using MintDone = std::function<void(Result<ClientCredentials>)>;
  void mint_async(const std::string& account, const Metadata& metadata,
                  const Capabilities& required, const std::string& model, MintDone done);
  // The Odyssey two-step: provision now (POST /sessions/request), issue the token later
  // (POST /sessions/token), once.
  Result<SessionRecord> provision(const std::string& account, const Metadata& metadata,
                                  const Capabilities& required = {}, const std::string& model = {});
  Result<IssuedToken> issue_token(const std::string& account, const std::string& session_id);

  // An account sees only its own sessions; another account's id is session_not_found.
  Result<SessionRecord> get(const std::string& account, const std::string& session_id);
  Result<std::vector<SessionRecord>> list_live(const std::string& account);
  Result<SessionRecord> end(const std::string& account, const std::string& session_id,
                            EndCause cause = EndCause::operator_ended);
  Result<Usage> usage(const std::string& account);

  // ConnectionEvents
  Result<SessionRecord> on_connect(const auth::TokenClaims& claims,
                                   const std::string& session_id) override;
  Status on_clean_disconnect(const std::string& session_id) override;
  Status on_unclean_drop(const std::string& session_id) override;

  // Ends every live session placed on a streamer that is gone; returns how many.
  int end_sessions_on_streamer(const std::string& streamer_id);
  // Ends (streamer_disconnected) every live session whose streamer is not `present`; returns
  // how many (the Sweeper's check after a restart).
  int end_sessions_without_streamer(const std::function<bool(const std::string&)>& present);
  // Ends every session whose deadline passed (idle, or dropped with an expired token);
  // returns how many.
  int sweep();

  // Where a client of a session on this streamer connects: the node holding its link.
  std::string signaling_url_for(const std::string& streamer_id);

  void add_end_listener(SessionEndListener* listener);
  const SessionRules& rules() const { return rules_; }
  auth::VerifyRules player_verify_rules() const;

 private:
  Status check_metadata(const Metadata& metadata) const;
  // Checks and reserves everything a new session needs; the record to insert, or why not.
  Result<SessionRecord> prepare(const std::string& account, const Metadata& metadata,
                                const Capabilities& required, const std::string& model,
                                bool with_token, std::string* signaling_url = nullptr);
  // Accounts for an insert's outcome (metrics, log, releasing the place when refused).
  Status settle(const SessionRecord& session, Status inserted);
  std::string sign_token(const SessionRecord& session) const;
  // Applies an end transition from any of `from`; tells listeners and releases the place.
  Result<SessionRecord> finish(const std::string& session_id, std::vector<SessionState> from,
                               EndCause cause);
  void reject(const Error& error);

  Store& store_;
  StreamerRegistry& registry_;
  std::shared_ptr<const auth::TokenKeyRing> keys_;
  const Clock& clock_;
  SessionRules rules_;
  SessionMetrics& metrics_;
  RateLimiter mint_limiter_;
  std::mutex listeners_mu_;
  std::vector<SessionEndListener*> listeners_;
};

}  // namespace ithaca::session
