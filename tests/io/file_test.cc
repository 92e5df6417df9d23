// write_text_file_atomically: the text lands whole, replaces an existing file, leaves no tmp
// file behind, and a missing directory is an Error naming the path.
// Leaves out: the binary readers (covered through npy_test and safetensors_test).
#include "io/file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "recur/error.h"

namespace recur::io {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WriteTextFileAtomically, WritesAndReplaces) {
  const fs::path dir = fs::temp_directory_path() / "recur_file_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path path = dir / "out.svg";
  write_text_file_atomically(path.string(), "first version, longer\n");
  write_text_file_atomically(path.string(), std::string("x\0y\n", 4));
  EXPECT_EQ(read_all(path), std::string("x\0y\n", 4));
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
  try {
    write_text_file_atomically((dir / "missing" / "out.svg").string(), "x");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing/out.svg: cannot open"), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace recur::io
