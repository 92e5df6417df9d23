// The oneDNN CPU engine and this thread's stream, shared by the kernels that run oneDNN
// primitives (packed_gemm.cc, bf16.cc).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace recur::kernels {

inline dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

inline dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

}  // namespace recur::kernels
