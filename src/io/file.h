// File plumbing shared by the .npy and safetensors readers and writers: opening a regular file
// for binary reading, exact reads that fail loudly, and writes that land atomically through a
// temporary file. Every message starts with the caller's `where` prefix ("path: format: ").
// Leaves out: any file format, memory mapping, and fsync (after a power loss the renamed file
// may be incomplete).
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <ostream>
#include <string>

namespace recur::io {

// Opens `path` for binary reading and stores its size in `*size`.
std::ifstream open_input(const std::string& path, const std::string& where, uint64_t* size);

// Reads exactly `bytes` bytes from the current position of `in` into `dst`.
void read_exact(std::ifstream& in, char* dst, uint64_t bytes, const std::string& where);

// Reads exactly `bytes` bytes starting at byte `offset` of `in` into `dst`.
void read_exact_at(std::ifstream& in, uint64_t offset, char* dst, uint64_t bytes,
                   const std::string& where);

// Writes through `path + ".tmp"` and renames it onto `path`; on failure the tmp file is removed.
void write_atomically(const std::string& path, const std::string& where,
                      const std::function<void(std::ostream&)>& write);

// Writes `text` to `path` through write_atomically; messages start with "path: ".
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace recur::io
