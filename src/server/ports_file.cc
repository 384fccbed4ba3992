#include "server/ports_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace amalgam::server {
namespace {

Status ErrnoError(std::string_view what, const std::string& path, int err) {
  return IOError(std::string(what) + " '" + path + "': " + std::strerror(err));
}

Status WriteAllAndSync(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return ErrnoError("cannot fsync", path, errno);
  return Status::OK();
}

}  // namespace

std::string PortsFilePath(const std::string& data_dir) {
  return data_dir + "/" + std::string(kPortsFileName);
}

std::string PortsJson(const std::vector<std::pair<std::string, uint16_t>>& ports) {
  std::string out = "{";
  for (size_t i = 0; i < ports.size(); ++i) {
    if (i > 0) out += ", ";
    out += '"' + ports[i].first + "\": " + std::to_string(ports[i].second);
  }
  out += "}\n";
  return out;
}

Status WritePortsFile(const std::string& data_dir,
                      const std::vector<std::pair<std::string, uint16_t>>& ports) {
  std::string path = PortsFilePath(data_dir);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  Status status = WriteAllAndSync(fd, PortsJson(ports), tmp);
  if (::close(fd) != 0 && status.ok()) status = ErrnoError("cannot close", tmp, errno);
  if (status.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError("cannot rename to", path, errno);
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

Status RemovePortsFile(const std::string& data_dir) {
  std::string path = PortsFilePath(data_dir);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("cannot remove", path, errno);
  }
  return Status::OK();
}

}  // namespace amalgam::server
