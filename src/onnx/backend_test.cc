// One ONNX backend-test folder run and checked: model.onnx and every test_data_set_N in it;
// outputs compare as numpy.testing.assert_allclose does (|got - want| <= atol + rtol * |want|).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "recur/error.h"
#include "recur/onnx.h"

namespace recur::onnx {
namespace {

namespace fs = std::filesystem;

std::string compare(const std::string& what, const Value& got, const Value& want, double rtol,
                    double atol) {
  if (got.shape != want.shape)
    return what + ": shape " + shape_string(got.shape) + ", expected " + shape_string(want.shape);
  if (got.is_float() != want.is_float())
    return what + ": element type " + elem_type_name(got.elem_type) + ", expected " +
           elem_type_name(want.elem_type);
  int64_t bad = 0, worst = -1;
  double worst_excess = 0.0;
  for (int64_t k = 0; k < want.numel(); ++k) {
    const double g = got.is_float() ? got.f[k] : static_cast<double>(got.i[k]);
    const double w = want.is_float() ? want.f[k] : static_cast<double>(want.i[k]);
    if (std::isnan(g) && std::isnan(w)) continue;
    const double excess = std::fabs(g - w) - (atol + rtol * std::fabs(w));
    if (!(excess <= 0.0)) {
      ++bad;
      if (worst < 0 || excess > worst_excess || std::isnan(excess)) {
        worst = k;
        worst_excess = excess;
      }
    }
  }
  if (bad == 0) return "";
  std::ostringstream msg;
  const double g = got.is_float() ? got.f[worst] : static_cast<double>(got.i[worst]);
  const double w = want.is_float() ? want.f[worst] : static_cast<double>(want.i[worst]);
  msg << what << ": " << bad << " of " << want.numel() << " values differ; worst at flat index "
      << worst << ": got " << g << ", expected " << w << " (|diff| " << std::fabs(g - w) << ")";
  return msg.str();
}

}  // namespace

BackendTestResult run_backend_test(const std::string& dir, double rtol, double atol) {
  BackendTestResult result;
  const fs::path root(dir);
  result.name =
      root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  try {
    RECUR_CHECK(fs::is_directory(root), dir + ": not a directory");
    const fs::path model_path = root / "model.onnx";
    RECUR_CHECK(fs::exists(model_path), dir + ": no model.onnx");
    Model model = Model::load(model_path.string());
    std::vector<fs::path> sets;
    for (const auto& entry : fs::directory_iterator(root))
      if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
        sets.push_back(entry.path());
    std::sort(sets.begin(), sets.end());
    RECUR_CHECK(!sets.empty(), dir + ": no test_data_set_N folder");
    for (const auto& set : sets) {
      std::map<std::string, Value> feeds;
      for (size_t k = 0;; ++k) {
        const fs::path p = set / ("input_" + std::to_string(k) + ".pb");
        if (!fs::exists(p)) break;
        std::string name;
        Value v = read_tensor_pb(p.string(), &name);
        bool named = false;
        for (const auto& info : model.inputs()) named = named || info.name == name;
        if (!named) {
          RECUR_CHECK(k < model.inputs().size(),
                      p.string() + ": more input files than the model has inputs");
          name = model.inputs()[k].name;
        }
        feeds[name] = std::move(v);
      }
      const std::vector<Value> got = model.run(feeds);
      size_t checked = 0;
      for (size_t k = 0;; ++k) {
        const fs::path p = set / ("output_" + std::to_string(k) + ".pb");
        if (!fs::exists(p)) break;
        RECUR_CHECK(k < got.size(),
                    p.string() + ": the model has only " + std::to_string(got.size()) + " outputs");
        const std::string what = set.filename().string() + " output " + std::to_string(k) + " '" +
                                 model.outputs()[k].name + "'";
        const std::string diff = compare(what, got[k], read_tensor_pb(p.string()), rtol, atol);
        if (!diff.empty()) {
          result.message = diff;
          return result;
        }
        ++checked;
      }
      RECUR_CHECK(checked > 0, set.string() + ": no output_K.pb to compare against");
    }
    result.passed = true;
  } catch (const Error& e) {
    result.message = e.what();
  }
  return result;
}

void write_backend_test(const std::string& model_path, const std::map<std::string, Value>& feeds,
                        const std::string& dir) {
  const Model model = Model::load(model_path);
  const std::vector<Value> outputs = model.run(feeds);
  const fs::path set = fs::path(dir) / "test_data_set_0";
  std::error_code ec;
  fs::create_directories(set, ec);
  RECUR_CHECK(!ec, dir + ": cannot create the folder: " + ec.message());
  fs::copy_file(model_path, fs::path(dir) / "model.onnx", fs::copy_options::overwrite_existing, ec);
  RECUR_CHECK(!ec, dir + ": cannot copy " + model_path + ": " + ec.message());
  for (size_t k = 0; k < model.inputs().size(); ++k) {
    const std::string& name = model.inputs()[k].name;
    write_tensor_pb((set / ("input_" + std::to_string(k) + ".pb")).string(), feeds.at(name), name);
  }
  for (size_t k = 0; k < outputs.size(); ++k)
    write_tensor_pb((set / ("output_" + std::to_string(k) + ".pb")).string(), outputs[k],
                    model.outputs()[k].name);
}

}  // namespace recur::onnx
