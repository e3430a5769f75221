// The inner loops compiled for avx2 (flags in binding.gyp).
#define RLHF_ISA avx2
#define RLHF_ISA_NAME "avx2"
#include "table.inc"
