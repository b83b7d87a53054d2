// Internal to ithaca/net (not for other modules: it exposes Beast types): how HttpServer hands
// an accepted WebSocket upgrade over to the WebSocket session code in websocket.cpp.
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>

#include "ithaca/net/websocket.hpp"

namespace ithaca::net::internal {

// Completes the handshake (echoing accept.subprotocol) and runs the session until it closes.
void start_websocket_session(boost::beast::tcp_stream stream,
                             boost::beast::http::request<boost::beast::http::string_body> request,
                             WebSocketAccept accept, const WebSocketOptions& options,
                             std::string remote_address);

}  // namespace ithaca::net::internal
