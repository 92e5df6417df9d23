// File plumbing shared by the .npy and safetensors readers and writers (see io/file.h).
// Leaves out: any file format.
#include "io/file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "recur/error.h"

namespace recur::io {

std::ifstream open_input(const std::string& path, const std::string& where, uint64_t* size) {
  std::error_code ec;
  std::filesystem::file_status status = std::filesystem::status(path, ec);
  RECUR_CHECK(!ec, where + "cannot open (" + ec.message() + ")");
  RECUR_CHECK(std::filesystem::is_regular_file(status), where + "cannot open (not a regular file)");
  *size = std::filesystem::file_size(path, ec);
  RECUR_CHECK(!ec, where + "cannot read the file size (" + ec.message() + ")");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  RECUR_CHECK(in.is_open(), where + "cannot open for reading (" + std::strerror(errno) + ")");
  return in;
}

void read_exact(std::ifstream& in, char* dst, uint64_t bytes, const std::string& where) {
  if (bytes == 0) return;
  in.read(dst, static_cast<std::streamsize>(bytes));
  RECUR_CHECK(in.good(), where + "read of " + std::to_string(bytes) + " bytes failed");
}

void read_exact_at(std::ifstream& in, uint64_t offset, char* dst, uint64_t bytes,
                   const std::string& where) {
  if (bytes == 0) return;
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(dst, static_cast<std::streamsize>(bytes));
  RECUR_CHECK(in.good(), where + "read of " + std::to_string(bytes) + " bytes at offset " +
                             std::to_string(offset) + " failed");
}

void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp";
  errno = 0;
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  RECUR_CHECK(out.is_open(),
              where + "cannot open '" + tmp + "' for writing (" + std::strerror(errno) + ")");
  try {
    write(out);
    out.close();
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (out.fail()) {
    std::remove(tmp.c_str());
    throw_error(where + "writing '" + tmp + "' failed (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw_error(where + "cannot rename '" + tmp + "' onto it (" + std::strerror(err) + ")");
  }
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  write_atomically(path, path + ": ", [&](std::ostream& out) {
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  });
}

}  // namespace recur::io
