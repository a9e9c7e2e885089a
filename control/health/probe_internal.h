// Helpers shared by probes.cc and https_probe.cc (internal to control/health).
#pragma once

#include <memory>
#include <string>

#include <sys/socket.h>

#include "control/health/http_response.h"
#include "control/health/probe.h"
#include "control/health/schedule.h"

namespace steer::control::health {

socklen_t to_sockaddr(const IpAddress& address, uint16_t port, sockaddr_storage& ss);
// "GET path HTTP/1.1" with Host (the check's, or default_host) and Connection: close.
std::string build_http_request(const Target& t, bool https);
// "" when `reply` passes the check (status in expect_status, body_contains found), else the
// reason: "HTTP 503", "body lacks 'ok'".
std::string judge_http(const CheckConfig& c, const HttpReply& reply);

std::unique_ptr<Prober> make_https_prober(const Target& target, uint32_t slot, ProbeEnv& env);

}  // namespace steer::control::health
