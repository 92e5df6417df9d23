// Data set folders and whole-file reads for the readers of recur/datasets.h.
#include "data/dataset_files.h"

#include <cstdint>
#include <filesystem>

#include "io/file.h"
#include "recur/error.h"

namespace recur::data::detail {

std::string data_set_dir(const std::string& name, const std::string& data_dir) {
  const std::filesystem::path dir = std::filesystem::path(data_dir) / name;
  RECUR_CHECK(
      std::filesystem::is_directory(dir),
      "data set '" + name + "' not found in " + dir.string() + "; run scripts/get-data " + name);
  return dir.string();
}

std::string read_file_bytes(const std::string& path) {
  uint64_t size = 0;
  std::ifstream in = io::open_input(path, path + ": ", &size);
  std::string bytes(size, '\0');
  io::read_exact(in, bytes.data(), size, path + ": ");
  return bytes;
}

size_t strip_bom(std::string* bytes) {
  if (bytes->compare(0, 3, "\xEF\xBB\xBF") != 0) return 0;
  bytes->erase(0, 3);
  return 3;
}

}  // namespace recur::data::detail
