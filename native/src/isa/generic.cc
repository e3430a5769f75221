// The inner loops compiled with the baseline instruction set: SSE2 on x86-64, NEON on arm64.
#define RLHF_ISA generic
#if defined(__aarch64__)
#define RLHF_ISA_NAME "neon"
#else
#define RLHF_ISA_NAME "scalar"
#endif
#include "table.inc"
