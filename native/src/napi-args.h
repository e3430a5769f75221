// Argument checking for the Node-API entry points: every typed array is checked for type and length
// before a kernel sees it, so a wrong call throws a JS error instead of reading out of bounds.
#pragma once
#include <node_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rlhf {

struct Args {
  napi_env env;
  size_t argc = 16;
  napi_value argv[16];
  bool failed = false;

  Args(napi_env e, napi_callback_info info) : env(e) { napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr); }

  napi_value fail(const std::string& msg) {
    if (!failed) napi_throw_error(env, "ERR_RLHF_NATIVE", msg.c_str());
    failed = true;
    return nullptr;
  }

  template <typename T>
  T* array(size_t i, napi_typedarray_type want, int64_t minLength, const char* what) {
    if (failed) return nullptr;
    napi_typedarray_type type;
    size_t length;
    void* data;
    bool is = false;
    if (i >= argc || napi_is_typedarray(env, argv[i], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[i], &type, &length, &data, nullptr, nullptr) != napi_ok || type != want) {
      fail(std::string(what) + ": expected a " + (want == napi_float32_array ? "Float32Array" : want == napi_float64_array ? "Float64Array" : "Int32Array"));
      return nullptr;
    }
    if (static_cast<int64_t>(length) < minLength) {
      fail(std::string(what) + ": has " + std::to_string(length) + " elements, needs " + std::to_string(minLength));
      return nullptr;
    }
    return static_cast<T*>(data);
  }
  /** Elements of typed-array argument i (checked by f32/i32 first); 0 after a failure. */
  int64_t length(size_t i) {
    size_t n = 0;
    if (!failed && i < argc) napi_get_typedarray_info(env, argv[i], nullptr, &n, nullptr, nullptr, nullptr);
    return static_cast<int64_t>(n);
  }
  float* f32(size_t i, int64_t n, const char* what) { return array<float>(i, napi_float32_array, n, what); }
  int32_t* i32(size_t i, int64_t n, const char* what) { return array<int32_t>(i, napi_int32_array, n, what); }
  double* f64(size_t i, int64_t n, const char* what) { return array<double>(i, napi_float64_array, n, what); }

  double num(size_t i, const char* what) {
    double v = 0;
    if (!failed && (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok)) fail(std::string(what) + ": expected a number");
    return v;
  }
  int64_t count(size_t i, const char* what) {
    double v = num(i, what);
    if (!failed && (v < 0 || v != static_cast<double>(static_cast<int64_t>(v)))) fail(std::string(what) + ": expected a count");
    return static_cast<int64_t>(v);
  }
  bool flag(size_t i) {
    bool b = false;
    if (i < argc) napi_get_value_bool(env, argv[i], &b);
    return b;
  }
  /** A JS array of counts (a shape, strides or offsets). */
  std::vector<int64_t> counts(size_t i, const char* what) {
    std::vector<int64_t> out;
    uint32_t n = 0;
    bool is = false;
    if (failed || i >= argc || napi_is_array(env, argv[i], &is) != napi_ok || !is) {
      fail(std::string(what) + ": expected an array");
      return out;
    }
    napi_get_array_length(env, argv[i], &n);
    for (uint32_t j = 0; j < n; j++) {
      napi_value e;
      double v = -1;
      napi_get_element(env, argv[i], j, &e);
      if (napi_get_value_double(env, e, &v) != napi_ok || v < 0) {
        fail(std::string(what) + ": expected non-negative numbers");
        return out;
      }
      out.push_back(static_cast<int64_t>(v));
    }
    return out;
  }
};

inline napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

inline int64_t product(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

/** Adds the fused-op functions (addon-fused.cc) to the exports. */
void registerFused(napi_env env, napi_value exports);

}  // namespace rlhf
