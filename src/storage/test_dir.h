#pragma once
// TestDir: a fresh temporary directory for one test, removed afterwards. Tests only.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace amalgam::storage {

class TestDir {
 public:
  TestDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "amalgam-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace amalgam::storage
