#pragma once
// The ports file, DIR/amalgamd.ports: the ports amalgamd actually listens on, as one JSON object
// keyed by listener name, e.g. {"http": 40123, "mongo": 40124, "dynamo": 40125}. Written once
// every listener is up (so its presence means "ready"), atomically (temporary file, fsync,
// rename), and removed on clean shutdown. Tests that pass port 0 read it to find the server.
//
// Thread-compatible free functions (no shared state).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace amalgam::server {

inline constexpr std::string_view kPortsFileName = "amalgamd.ports";

// DIR/amalgamd.ports.
std::string PortsFilePath(const std::string& data_dir);

// The JSON text for `ports` ((name, port) pairs, in order), with a trailing newline.
// REQUIRES: names need no JSON escaping (they are our own listener names).
std::string PortsJson(const std::vector<std::pair<std::string, uint16_t>>& ports);

// Atomically replaces DIR/amalgamd.ports with PortsJson(ports).
// Errors: kIOError naming the file and the system error.
Status WritePortsFile(const std::string& data_dir,
                      const std::vector<std::pair<std::string, uint16_t>>& ports);

// Removes DIR/amalgamd.ports; a missing file is not an error.
// Errors: kIOError naming the file and the system error.
Status RemovePortsFile(const std::string& data_dir);

}  // namespace amalgam::server
