# The native CPU backend's addon (backend/native-backend.ts loads it). Built at install by scripts/build-native.mjs
# through npm's own node-gyp against the machine's Node headers: nothing is downloaded.
# The SIMD kernels are compiled once per instruction set (static libraries with their own -m flags) and
# chosen at run time (native/src/isa.cc), so one build runs on any x86-64 and uses AVX-512 where present.
{
  "target_defaults": {
    "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fPIC"],
    "cflags_cc!": ["-fno-exceptions"],
  },
  "targets": [
    {
      "target_name": "rlhf_native",
      "sources": ["native/src/addon.cc", "native/src/threadpool.cc", "native/src/isa.cc", "native/src/ops.cc", "native/src/fused.cc", "native/src/addon-fused.cc", "native/src/llama-fused.cc", "native/src/addon-llama.cc", "native/src/sample.cc", "native/src/gemm.cc", "native/src/blas.cc", "native/src/isa/generic.cc"],
      "libraries": ["-ldl", "-lpthread"],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["rlhf_isa_avx2", "rlhf_isa_avx512"],
          "defines": ["RLHF_X64=1"],
        }],
      ],
    },
  ],
  "conditions": [
    ["target_arch=='x64'", {"targets": [
    {
      "target_name": "rlhf_isa_avx2",
      "type": "static_library",
      "sources": ["native/src/isa/avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c"],
    },
    {
      "target_name": "rlhf_isa_avx512",
      "type": "static_library",
      "sources": ["native/src/isa/avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma", "-mf16c"],
    },
    ]}],
  ],
}
