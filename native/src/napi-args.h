// Argument checking for the Node-API entry points. Every size, stride, offset and index is checked against
// the typed arrays' real lengths in overflow-checked 64-bit arithmetic before a kernel sees it, so a wrong
// or hostile call throws a JS TypeError / RangeError naming the argument instead of reading or writing out
// of bounds (unchecked, matmul with M = N = K = 2^32 wrapped M * K to 0 and segfaulted on 16 floats).
// The checks are O(1) per call; index arrays are scanned once by the kernels' drivers (ops.cc, fused.cc).
#pragma once
#include <node_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <string>
#include <vector>

namespace rlhf {

/** Largest count accepted (Number.MAX_SAFE_INTEGER): every count is exact in a double. */
constexpr int64_t kMaxCount = (int64_t{1} << 53) - 1;

/** A double for messages, as JS prints it ("4294967296", "1.5", "NaN", "-Infinity"). */
inline std::string numText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char s[32];
  std::snprintf(s, sizeof s, "%.17g", v);
  return s;
}

struct Args {
  static constexpr size_t kMaxArgs = 16;
  napi_env env;
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  bool failed = false;

  Args(napi_env e, napi_callback_info info) : env(e) {
    if (napi_get_cb_info(e, info, &argc, argv, nullptr, nullptr) != napi_ok) argc = 0;
    // napi_get_cb_info reports how many arguments were passed but fills in at most kMaxArgs of them.
    if (argc > kMaxArgs) argc = kMaxArgs;
  }

  napi_value fail(const std::string& msg) { return raise(napi_throw_error, msg); }
  napi_value range(const std::string& msg) { return raise(napi_throw_range_error, msg); }
  napi_value type(const std::string& msg) { return raise(napi_throw_type_error, msg); }

  template <typename T>
  T* array(size_t i, napi_typedarray_type want, int64_t minLength, const char* what) {
    if (failed) return nullptr;
    napi_typedarray_type type;
    size_t length;
    void* data;
    bool is = false;
    if (i >= argc || napi_is_typedarray(env, argv[i], &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, argv[i], &type, &length, &data, nullptr, nullptr) != napi_ok || type != want) {
      this->type(std::string(what) + ": expected a " + (want == napi_float32_array ? "Float32Array" : want == napi_float64_array ? "Float64Array" : "Int32Array"));
      return nullptr;
    }
    if (static_cast<int64_t>(length) < minLength) {
      range(std::string(what) + ": has " + std::to_string(length) + " elements, needs " + std::to_string(minLength));
      return nullptr;
    }
    // A detached or empty array has no data pointer; kernels then touch none of it, but pointer arithmetic
    // on null is undefined behaviour, so hand them a real (never read or written) address.
    static T none[1];
    return data ? static_cast<T*>(data) : none;
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
    if (!failed && (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok)) type(std::string(what) + ": expected a number");
    return v;
  }
  /** Argument i as a count: an integer in [0, 2^53); NaN, ±Infinity, fractions and negatives throw. */
  int64_t count(size_t i, const char* what) {
    double v = num(i, what);
    return failed ? 0 : countOf(v, what);
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
    if (failed || i >= argc || napi_is_array(env, argv[i], &is) != napi_ok || !is || napi_get_array_length(env, argv[i], &n) != napi_ok) {
      type(std::string(what) + ": expected an array");
      return out;
    }
    out.reserve(n);
    for (uint32_t j = 0; j < n && !failed; j++) {
      napi_value e;
      double v = 0;
      // An element getter may run JS and throw: that exception is the one the caller sees.
      const std::string name = std::string(what) + "[" + std::to_string(j) + "]";
      if (napi_get_element(env, argv[i], j, &e) != napi_ok) {
        bool thrown = false;
        napi_is_exception_pending(env, &thrown);
        if (!thrown) type(name + ": unreadable");
        failed = true;
        break;
      }
      if (napi_get_value_double(env, e, &v) != napi_ok) {
        type(name + ": expected a number");
        break;
      }
      out.push_back(countOf(v, name.c_str()));
    }
    return out;
  }

  /**
   * Elements of a tensor with these dimensions (0 if one is 0), or a RangeError naming `what` when the
   * product of the non-zero ones overflows int64: then no product a kernel forms from them overflows either.
   */
  int64_t size(const char* what, std::initializer_list<int64_t> dims) { return sizeOf(what, dims.begin(), dims.end()); }
  int64_t size(const char* what, const std::vector<int64_t>& dims) { return sizeOf(what, dims.data(), dims.data() + dims.size()); }
  int64_t add(const char* what, int64_t x, int64_t y) {
    int64_t r = 0;
    if (!failed && __builtin_add_overflow(x, y, &r)) range(std::string(what) + ": size overflows 64 bits");
    return failed ? 0 : r;
  }
  /**
   * Elements a strided read spans (its highest index + 1): offset + Σ (shape[d] - 1) · strides[d] + 1, or 0
   * for an empty shape (nothing is read).
   */
  int64_t span(const char* what, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t offset) {
    if (failed || sizeOf(what, shape.data(), shape.data() + shape.size()) == 0) return 0;
    int64_t s = offset;
    for (size_t d = 0; d < shape.size(); d++) {
      int64_t step;
      if (__builtin_mul_overflow(shape[d] - 1, strides[d], &step) || __builtin_add_overflow(s, step, &s)) {
        range(std::string(what) + ": strided extent overflows 64 bits");
        return 0;
      }
    }
    return add(what, s, 1);
  }

 private:
  napi_value raise(napi_status (*thrower)(napi_env, const char*, const char*), const std::string& msg) {
    if (!failed) thrower(env, "ERR_RLHF_NATIVE", msg.c_str());
    failed = true;
    return nullptr;
  }
  int64_t countOf(double v, const char* what) {
    if (!(v >= 0 && v <= static_cast<double>(kMaxCount) && v == std::floor(v))) {
      range(std::string(what) + ": expected an integer in [0, 2^53), got " + numText(v));
      return 0;
    }
    return static_cast<int64_t>(v);
  }

  template <typename It>
  int64_t sizeOf(const char* what, It begin, It end) {
    if (failed) return 0;
    int64_t n = 1;
    bool empty = false;
    for (It d = begin; d != end; ++d) {
      if (*d == 0) empty = true;
      else if (__builtin_mul_overflow(n, *d, &n)) {
        range(std::string(what) + ": size overflows 64 bits");
        return 0;
      }
    }
    return empty ? 0 : n;
  }
};

/**
 * A copy of n indices. They are checked once and then used, and an Int32Array on a SharedArrayBuffer may
 * change under the call (another thread writing it): a copy makes the check hold for every use. O(n), as
 * the check is, and small next to the rows the indices select.
 */
inline std::vector<int32_t> snapshot(const int32_t* p, int64_t n) { return p ? std::vector<int32_t>(p, p + n) : std::vector<int32_t>(); }

inline napi_value undefinedValue(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/**
 * An entry point with C++ exceptions (std::bad_alloc from a scratch vector, std::system_error from a thread)
 * turned into a JS error: one escaping into Node-API would terminate the process.
 */
template <napi_value (*F)(napi_env, napi_callback_info)>
napi_value guarded(napi_env env, napi_callback_info info) {
  try {
    return F(env, info);
  } catch (const std::exception& e) {
    napi_throw_error(env, "ERR_RLHF_NATIVE", e.what());
  } catch (...) {
    napi_throw_error(env, "ERR_RLHF_NATIVE", "native addon: unknown C++ exception");
  }
  return nullptr;
}

/** Adds the fused-op functions (addon-fused.cc) to the exports. */
void registerFused(napi_env env, napi_value exports);
/** Adds the Llama family's fused-op functions (addon-llama.cc) to the exports. */
void registerLlamaFused(napi_env env, napi_value exports);

}  // namespace rlhf
