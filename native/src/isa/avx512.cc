// The inner loops compiled for avx512 (flags in binding.gyp).
#define RLHF_ISA avx512
#define RLHF_ISA_NAME "avx512"
#include "table.inc"
