// File helpers shared by the data set readers of recur/datasets.h: a data set's folder (with the
// get-data hint when it is missing) and a whole file as bytes. Leaves out: formats (each reader).
#pragma once

#include <string>

namespace recur::data::detail {

// data_dir/name, which must be a folder; otherwise an Error "data set 'name' not found in
// data_dir/name; run scripts/get-data name".
std::string data_set_dir(const std::string& name, const std::string& data_dir);

// All bytes of the regular file `path`; a missing or unreadable file is an Error naming it.
std::string read_file_bytes(const std::string& path);

// Drops a leading UTF-8 byte order mark, returns how many bytes it dropped (0 or 3).
size_t strip_bom(std::string* bytes);

}  // namespace recur::data::detail
