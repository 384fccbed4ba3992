#include "server/ports_file.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace amalgam::server {
namespace {

class PortsFileTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/amalgam_ports_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string ReadPortsFile() {
    std::ifstream in(PortsFilePath(dir_));
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
  }

  std::string dir_;
};

TEST_F(PortsFileTest, WritesJsonAtomicallyAndRemoves) {
  ASSERT_TRUE(WritePortsFile(dir_, {{"http", 9090}, {"mongo", 27017}}).ok());
  EXPECT_EQ(ReadPortsFile(), "{\"http\": 9090, \"mongo\": 27017}\n");
  EXPECT_FALSE(std::filesystem::exists(PortsFilePath(dir_) + ".tmp"));
  ASSERT_TRUE(WritePortsFile(dir_, {{"http", 1}}).ok());
  EXPECT_EQ(ReadPortsFile(), "{\"http\": 1}\n");
  ASSERT_TRUE(RemovePortsFile(dir_).ok());
  EXPECT_FALSE(std::filesystem::exists(PortsFilePath(dir_)));
  EXPECT_TRUE(RemovePortsFile(dir_).ok());  // already gone is fine
}

TEST_F(PortsFileTest, MissingDirectoryIsAnIoError) {
  Status s = WritePortsFile(dir_ + "/missing", {{"http", 1}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kIOError);
  EXPECT_NE(s.message().find("amalgamd.ports.tmp"), std::string_view::npos) << s.ToString();
}

TEST(PortsJsonTest, EmptyIsAnEmptyObject) { EXPECT_EQ(PortsJson({}), "{}\n"); }

}  // namespace
}  // namespace amalgam::server
