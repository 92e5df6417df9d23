// The fixture of the CLI tests: a fresh, empty working directory per test and a way to run the
// real `recur` binary (RECUR_CLI_PATH) in it through the shell, with stdout and stderr captured.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace recur {

namespace fs = std::filesystem;

// Quotes `s` for /bin/sh.
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A fresh, empty working directory per test, and a way to run the binary in it.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    dir_ = fs::path(::testing::TempDir()) / ("recur_cli_" + name + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  bool exists(const std::string& name) const { return fs::exists(dir_ / name); }

  // Runs `recur <args>` in the test's directory with stdout in out.txt and stderr in
  // err.txt; returns the exit status (128 + signal when it was killed).
  int run(const std::string& args) const {
    const std::string command = "cd " + quote(dir_.string()) + " && " + quote(RECUR_CLI_PATH) +
                                " " + args + " >out.txt 2>err.txt";
    const int status = std::system(command.c_str());
    if (status == -1 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
  }

  std::string read_text(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void write_bytes(const std::string& name, const std::string& bytes) const {
    std::ofstream out(path(name), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << name;
  }

  // Everything in the directory but the captured stdout/stderr.
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename().string());
    names.erase("out.txt");
    names.erase("err.txt");
    return names;
  }

  fs::path dir_;
};

}  // namespace recur
