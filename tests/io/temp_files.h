// Files for the IO tests: a folder per running test (removed by the fixture) and exact-byte
// reads and writes. Leaves out: anything format-specific.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace recur::io_test {

// The running test's folder: TempDir()/recur_io_<suite>_<test>.
inline std::string temp_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "recur_io_" + info->test_suite_name() + "_" + info->name();
}

inline std::string temp_path(const std::string& name) {
  std::filesystem::create_directories(temp_dir());
  return temp_dir() + "/" + name;
}

// A fixture that starts and ends each test with an empty folder.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::remove_all(temp_dir()); }
  void TearDown() override { std::filesystem::remove_all(temp_dir()); }
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace recur::io_test
