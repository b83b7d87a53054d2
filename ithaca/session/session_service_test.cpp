// Every lifecycle path of docs/life-of-a-session.md, on a ManualClock and the memory store,
// driven through ConnectionEvents as signaling will drive it.
#include "ithaca/session/session_service.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "ithaca/session/sweeper.hpp"
#include "ithaca/store/memory/memory_store.hpp"

namespace ithaca::session {
namespace {

using namespace std::chrono_literals;

class RecordingListener : public SessionEndListener {
 public:
  void on_session_ended(const SessionRecord& s) override { ended.push_back(s); }
  std::vector<SessionRecord> ended;
};

class SessionServiceTest : public ::testing::Test {
 protected:
  SessionServiceTest() {
    keys_ = *auth::TokenKeyRing::create({"k1", std::string(32, 'k')});
    EXPECT_TRUE(store_.upsert_account({"acme", 2}));
    EXPECT_TRUE(store_.upsert_account({"other", 2}));
    registry_.upsert({"str_a", 10, {{"image_to_video", false}}});
    rules_.signaling_url = "ws://127.0.0.1:1/signaling";
    make_service();
  }

  void make_service() {
    service_ = std::make_unique<SessionService>(store_, registry_, keys_, clock_, rules_, metrics_);
    service_->add_end_listener(&listener_);
  }

  auth::TokenClaims claims_of(const ClientCredentials& c) {
    auto claims = keys_->verify(c.session_token, service_->player_verify_rules(),
                                to_unix_seconds(clock_.now()));
    EXPECT_TRUE(claims.ok()) << claims.error().to_string();
    return *claims;
  }

  SessionState state_of(const std::string& id) { return (*store_.get_session(id))->state; }
  EndCause cause_of(const std::string& id) { return (*store_.get_session(id))->end_cause; }
  int active() { return service_->usage("acme")->active; }

  ManualClock clock_;
  store::MemoryStore store_;
  LocalStreamerRegistry registry_;
  std::shared_ptr<const auth::TokenKeyRing> keys_;
  metrics::Registry metrics_registry_;
  SessionMetrics metrics_{metrics_registry_};
  SessionRules rules_;
  RecordingListener listener_;
  std::unique_ptr<SessionService> service_;
};

TEST_F(SessionServiceTest, MintIssuesCredentialsForANewSession) {
  auto creds = service_->mint("acme", {{"user", "u1"}});
  ASSERT_TRUE(creds.ok()) << creds.error().to_string();
  EXPECT_EQ(creds->signaling_url, "ws://127.0.0.1:1/signaling");
  EXPECT_EQ(creds->expires_in, 600);
  EXPECT_EQ(creds->capabilities, (Capabilities{{"image_to_video", false}}));
  const auto claims = claims_of(*creds);
  EXPECT_EQ(claims.session_id, creds->session_id);
  EXPECT_EQ(claims.account, "acme");
  EXPECT_EQ(claims.expires_at - claims.issued_at, 600);
  const auto s = *service_->get("acme", creds->session_id);
  EXPECT_EQ(s.state, SessionState::provisioned);
  EXPECT_EQ(s.metadata.at("user"), "u1");
  EXPECT_EQ(s.token_jti, claims.jti);
  EXPECT_EQ(active(), 1);
}

TEST_F(SessionServiceTest, TheDefaultModelAppliesWhenAMintNamesNone) {
  StreamerInfo gpu{"str_gpu", 1, {}};
  gpu.model.name = "my-world";
  registry_.upsert(gpu);
  rules_.default_model = "my-world";
  make_service();
  auto creds = service_->mint("acme", {});
  ASSERT_TRUE(creds.ok()) << creds.error().to_string();
  auto s = *service_->get("acme", creds->session_id);
  EXPECT_EQ(s.streamer_id, "str_gpu");
  EXPECT_EQ(s.model, "my-world");
  // Named, it wins over the default; the default's streamer is full now.
  creds = service_->mint("acme", {}, {}, "procedural");
  ASSERT_TRUE(creds.ok()) << creds.error().to_string();
  EXPECT_EQ(service_->get("acme", creds->session_id)->model, "procedural");
  ASSERT_TRUE(service_->end("acme", creds->session_id).ok());
  EXPECT_EQ(service_->mint("acme", {}).error().code, ErrorCode::no_streamer_available);
  EXPECT_EQ(service_->provision("acme", {}, {}, "gone").error().code, ErrorCode::unknown_model);
}

TEST_F(SessionServiceTest, ConcurrencyLimitIsEnforcedAndEndsFreeSlots) {
  auto a = service_->mint("acme", {});
  auto b = service_->mint("acme", {});
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = service_->mint("acme", {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::CONCURRENT_LIMIT_REACHED);
  EXPECT_EQ(c.error().details["active_count"], 2);
  EXPECT_EQ(c.error().details["limit"], 2);
  EXPECT_EQ(registry_.snapshot()[0].in_use, 2);  // the refused mint released its place
  ASSERT_TRUE(service_->end("acme", a->session_id).ok());
  EXPECT_TRUE(service_->mint("acme", {}).ok());
  EXPECT_TRUE(service_->mint("other", {}).ok());  // limits are per account
}

TEST_F(SessionServiceTest, AFullAccountOnAFullStreamerHearsItsLimitNotNoStreamer) {
  registry_.remove("str_a");
  registry_.upsert({"str_small", 2, {}});
  ASSERT_TRUE(service_->mint("acme", {}).ok());
  ASSERT_TRUE(service_->mint("acme", {}).ok());
  auto third = service_->mint("acme", {});
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::CONCURRENT_LIMIT_REACHED);
  EXPECT_EQ(third.error().details["active_count"], 2);
  EXPECT_EQ(third.error().details["limit"], 2);
  // Another account with room still hears the truth: no streamer has a place.
  EXPECT_EQ(service_->mint("other", {}).error().code, ErrorCode::no_streamer_available);
}

TEST_F(SessionServiceTest, NoStreamerWithCapacityOrCapabilityIs503) {
  registry_.upsert({"str_a", 1, {}});
  ASSERT_TRUE(service_->mint("acme", {}).ok());
  EXPECT_EQ(service_->mint("other", {}).error().code, ErrorCode::no_streamer_available);
  registry_.upsert({"str_b", 5, {{"image_to_video", false}}});
  EXPECT_EQ(service_->mint("other", {}, {{"image_to_video", true}}).error().code,
            ErrorCode::no_streamer_available);
  registry_.upsert({"str_c", 5, {{"image_to_video", true}}});
  auto placed = service_->mint("other", {}, {{"image_to_video", true}});
  ASSERT_TRUE(placed.ok());
  EXPECT_TRUE(placed->capabilities.at("image_to_video"));
}

TEST_F(SessionServiceTest, CleanDisconnectEndsAtOnceAndFreesTheSlot) {
  auto creds = *service_->mint("acme", {});
  auto connected = service_->on_connect(claims_of(creds), creds.session_id);
  ASSERT_TRUE(connected.ok()) << connected.error().to_string();
  EXPECT_EQ(connected->state, SessionState::connected);
  EXPECT_FALSE(connected->deadline_at.has_value());
  ASSERT_TRUE(service_->on_clean_disconnect(creds.session_id).ok());
  EXPECT_EQ(state_of(creds.session_id), SessionState::ended);
  EXPECT_EQ(cause_of(creds.session_id), EndCause::client_disconnect);
  EXPECT_EQ(active(), 0);
  ASSERT_EQ(listener_.ended.size(), 1u);
  // The token cannot open the session again.
  EXPECT_EQ(service_->on_connect(claims_of(creds), creds.session_id).error().code,
            ErrorCode::session_ended);
}

TEST_F(SessionServiceTest, SecondClientWithTheSameTokenIsRefusedWhileConnected) {
  auto creds = *service_->mint("acme", {});
  ASSERT_TRUE(service_->on_connect(claims_of(creds), creds.session_id).ok());
  EXPECT_EQ(service_->on_connect(claims_of(creds), creds.session_id).error().code,
            ErrorCode::session_already_connected);
}

TEST_F(SessionServiceTest, UncleanDropIsResumableUntilTheTokenExpires) {
  auto creds = *service_->mint("acme", {});
  const auto claims = claims_of(creds);
  ASSERT_TRUE(service_->on_connect(claims, creds.session_id).ok());
  clock_.advance(100s);
  ASSERT_TRUE(service_->on_unclean_drop(creds.session_id).ok());
  EXPECT_EQ(state_of(creds.session_id), SessionState::dropped);
  EXPECT_EQ(active(), 1);  // still holds its slot
  EXPECT_EQ(service_->sweep(), 0);
  auto resumed = service_->on_connect(claims, creds.session_id);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->state, SessionState::connected);
  ASSERT_TRUE(service_->on_unclean_drop(creds.session_id).ok());
  clock_.advance(499s);  // 599 s after mint: the token still lives
  EXPECT_EQ(service_->sweep(), 0);
  clock_.advance(1s);
  EXPECT_EQ(service_->sweep(), 1);
  EXPECT_EQ(cause_of(creds.session_id), EndCause::token_expired);
  EXPECT_EQ(active(), 0);
}

TEST_F(SessionServiceTest, DropAfterTheTokenExpiredEndsAtOnce) {
  auto creds = *service_->mint("acme", {});
  ASSERT_TRUE(service_->on_connect(claims_of(creds), creds.session_id).ok());
  clock_.advance(2h);  // expiry does not interrupt a connected stream...
  EXPECT_EQ(service_->sweep(), 0);
  EXPECT_EQ(state_of(creds.session_id), SessionState::connected);
  ASSERT_TRUE(service_->on_unclean_drop(creds.session_id).ok());  // ...but nothing can resume
  EXPECT_EQ(state_of(creds.session_id), SessionState::ended);
  EXPECT_EQ(cause_of(creds.session_id), EndCause::token_expired);
}

TEST_F(SessionServiceTest, NeverConnectedSessionEndsAfterTheIdleTimeout) {
  auto creds = *service_->mint("acme", {});
  clock_.advance(15min - 1s);
  EXPECT_EQ(service_->sweep(), 0);
  EXPECT_EQ(active(), 1);
  clock_.advance(1s);
  EXPECT_EQ(service_->sweep(), 1);
  EXPECT_EQ(cause_of(creds.session_id), EndCause::idle_timeout);
  EXPECT_EQ(active(), 0);
}

TEST_F(SessionServiceTest, TimersFollowTheRules) {
  rules_.token_ttl = 30s;
  rules_.idle_timeout = 60s;
  make_service();
  auto creds = *service_->mint("acme", {});
  EXPECT_EQ(creds.expires_in, 30);
  clock_.advance(60s);
  EXPECT_EQ(service_->sweep(), 1);
}

TEST_F(SessionServiceTest, ConnectChecksSessionAndCredential) {
  auto a = *service_->mint("acme", {});
  auto b = *service_->mint("acme", {});
  EXPECT_EQ(service_->on_connect(claims_of(a), b.session_id).error().code,
            ErrorCode::token_wrong_session);
  auto forged = claims_of(a);
  forged.jti = "another";
  EXPECT_EQ(service_->on_connect(forged, a.session_id).error().code, ErrorCode::token_revoked);
  auto unknown = claims_of(a);
  unknown.session_id = "ses_nope";
  EXPECT_EQ(service_->on_connect(unknown, "ses_nope").error().code, ErrorCode::session_not_found);
  auto foreign = claims_of(a);
  foreign.account = "other";
  EXPECT_EQ(service_->on_connect(foreign, a.session_id).error().code, ErrorCode::session_not_found);
}

TEST_F(SessionServiceTest, OperatorEndTellsListenersAndHidesOtherAccounts) {
  auto creds = *service_->mint("acme", {});
  ASSERT_TRUE(service_->on_connect(claims_of(creds), creds.session_id).ok());
  EXPECT_EQ(service_->end("other", creds.session_id).error().code, ErrorCode::session_not_found);
  EXPECT_EQ(service_->get("other", creds.session_id).error().code, ErrorCode::session_not_found);
  auto ended = service_->end("acme", creds.session_id);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(ended->end_cause, EndCause::operator_ended);
  ASSERT_EQ(listener_.ended.size(), 1u);
  EXPECT_EQ(listener_.ended[0].id, creds.session_id);
  EXPECT_EQ(service_->end("acme", creds.session_id).error().code, ErrorCode::session_ended);
  EXPECT_EQ(registry_.snapshot()[0].in_use, 0);
}

TEST_F(SessionServiceTest, OdysseyTwoStepIssuesOneCredentialPerSession) {
  auto s = service_->provision("acme", {});
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->token_jti.empty());
  EXPECT_EQ(service_->issue_token("other", s->id).error().code, ErrorCode::session_not_found);
  auto token = service_->issue_token("acme", s->id);
  ASSERT_TRUE(token.ok()) << token.error().to_string();
  EXPECT_EQ(token->expires_in, 600);
  EXPECT_EQ(service_->issue_token("acme", s->id).error().code,
            ErrorCode::credential_already_issued);
  auto claims = keys_->verify(token->session_token, service_->player_verify_rules(),
                              to_unix_seconds(clock_.now()));
  ASSERT_TRUE(claims.ok());
  EXPECT_TRUE(service_->on_connect(*claims, s->id).ok());
}

TEST_F(SessionServiceTest, MetadataIsSizeLimited) {
  Metadata big;
  for (int i = 0; i < 17; ++i) big["k" + std::to_string(i)] = "v";
  EXPECT_EQ(service_->mint("acme", big).error().code, ErrorCode::invalid_metadata);
  EXPECT_EQ(service_->mint("acme", {{"k", std::string(5000, 'x')}}).error().code,
            ErrorCode::invalid_metadata);
  EXPECT_EQ(active(), 0);
}

TEST_F(SessionServiceTest, MintRateLimitAnswersRetryAfter) {
  ASSERT_TRUE(store_.upsert_account({"acme", 100}));
  registry_.upsert({"str_a", 100, {}});
  rules_.mint_rate_per_second = 1;
  rules_.mint_burst = 3;
  make_service();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(service_->mint("acme", {}).ok());
  auto limited = service_->mint("acme", {});
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.error().code, ErrorCode::RATE_LIMITED);
  EXPECT_EQ(limited.error().details["retry_after_seconds"], 1);
  clock_.advance(1s);
  EXPECT_TRUE(service_->mint("acme", {}).ok());
}

TEST_F(SessionServiceTest, LostStreamerEndsItsSessions) {
  registry_.upsert({"str_b", 10, {}});
  registry_.remove("str_a");
  auto creds = *service_->mint("acme", {});
  ASSERT_TRUE(service_->on_connect(claims_of(creds), creds.session_id).ok());
  registry_.remove("str_b");
  EXPECT_EQ(service_->end_sessions_on_streamer("str_b"), 1);
  EXPECT_EQ(cause_of(creds.session_id), EndCause::streamer_disconnected);
  EXPECT_EQ(active(), 0);
}

}  // namespace
}  // namespace ithaca::session

namespace ithaca::session {
namespace {

// After a restart, sessions placed on a streamer that never links again end once the grace has
// passed (streamer_disconnected), instead of holding their places until the idle timeout.
TEST_F(SessionServiceTest, SessionsWhoseStreamerNeverReturnsEndAfterTheGrace) {
  auto gone = service_->mint("acme", {});
  ASSERT_TRUE(gone.ok());
  registry_.upsert({"str_b", 10, {}});
  std::set<std::string> present = {"str_a", "str_b"};
  std::mutex mu;
  auto is_present = [&](const std::string& id) {
    std::lock_guard lock(mu);
    return present.contains(id);
  };
  {
    Sweeper sweeper(*service_, store_, clock_, 5ms, std::chrono::hours(24), 10s, is_present);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(state_of(gone->session_id), SessionState::provisioned);
    {
      std::lock_guard lock(mu);
      present.erase("str_a");  // str_a never linked again
    }
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(state_of(gone->session_id), SessionState::provisioned);  // within the grace
    clock_.advance(11s);
    for (int i = 0; i < 200 && state_of(gone->session_id) != SessionState::ended; ++i) {
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_EQ(state_of(gone->session_id), SessionState::ended);
  EXPECT_EQ(cause_of(gone->session_id), EndCause::streamer_disconnected);
  EXPECT_EQ(active(), 0);
}

TEST_F(SessionServiceTest, EndSessionsWithoutStreamerSparesThoseWhoseStreamerIsBack) {
  auto a = service_->mint("acme", {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(service_->end_sessions_without_streamer([](const std::string&) { return true; }), 0);
  EXPECT_EQ(state_of(a->session_id), SessionState::provisioned);
  EXPECT_EQ(service_->end_sessions_without_streamer([](const std::string&) { return false; }), 1);
  EXPECT_EQ(cause_of(a->session_id), EndCause::streamer_disconnected);
}

}  // namespace
}  // namespace ithaca::session
