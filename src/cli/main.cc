// The `recur` command: parses the sub-command, runs it, and turns every recur::Error into a
// message on stderr and exit status 1. Leaves out: the commands themselves (one file each).
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "recur/error.h"

int main(int argc, char** argv) {
  // Training allocates the same activation buffers every step. Keep freed memory in the heap
  // (no trimming, no mmap below 32 MB) so that a step does not page-fault its buffers in again;
  // bigger tensors are recycled by Tensor's own block cache.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"recur: recurrent neural networks (RNN, LSTM, GRU) on the CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "recur 0.1.0");
  recur::cli::add_forward_command(app);
  recur::cli::add_lm_commands(app);
  recur::cli::add_sequence_commands(app);
  recur::cli::add_plot_command(app);
  recur::cli::add_onnx_commands(app);
  recur::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const recur::cli::Exit& e) {
    return e.code;
  } catch (const recur::Error& e) {
    std::cerr << "recur: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "recur: unexpected error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
