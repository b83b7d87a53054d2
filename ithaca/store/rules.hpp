// The rules every store backend applies the same way, kept in one place so memory and SQLite
// cannot drift apart: input validation, the errors of the slot rule and of compare-and-set
// session updates, and the millisecond precision of stored times. Pure functions; thread-safe.
#pragma once

#include <string>

#include "ithaca/base/error.hpp"
#include "ithaca/session/store.hpp"
#include "ithaca/session/types.hpp"

namespace ithaca::store {

// Stores keep times as unix milliseconds; every backend rounds the same way so a record reads
// back equal whichever backend holds it.
TimePoint to_stored_time(TimePoint t);
session::SessionRecord to_stored(session::SessionRecord record);
session::ApiKeyRecord to_stored(session::ApiKeyRecord key);

// invalid_request unless the record can be stored.
Status validate_account(const session::Account& account);
Status validate_api_key(const session::ApiKeyRecord& key);
Status validate_new_session(const session::SessionRecord& session);

// CONCURRENT_LIMIT_REACHED with details {active_count, limit}.
Error limit_reached(const std::string& account, int active_count, int limit);
Error unknown_account(const std::string& account);
Error session_not_found(const std::string& id);

// The compare-and-set of Store::update_session: `current` after `update`, or the error the
// interface documents (session_ended, session_already_connected, invalid_request,
// credential_already_issued). Times in the result are already at stored precision.
Result<session::SessionRecord> apply_update(const session::SessionRecord& current,
                                            const session::SessionUpdate& update);

}  // namespace ithaca::store
