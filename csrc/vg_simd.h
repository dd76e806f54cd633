/* Runtime dispatch of hot loops to AVX2 where the CPU has it.
 *
 * VG_HOT_CLONES compiles a function twice (baseline x86-64 and AVX2) and lets the dynamic
 * loader pick one at startup (GCC/Clang target_clones via ifunc). The two clones execute the
 * same IEEE operations in the same order (no FMA contraction: the core is built with
 * -std=c99, which implies -ffp-contract=off), so results do not depend on which one runs.
 * Elsewhere the macro is empty and the portable code is used. */
#ifndef VG_SIMD_H
#define VG_SIMD_H

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(VG_NO_CLONES) && \
    !defined(__SANITIZE_ADDRESS__)
#define VG_HOT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VG_HOT_CLONES
#endif

/* Small kernels called from VG_HOT_CLONES functions are forced inline so that each clone gets
 * its own copy compiled for its target. */
#if defined(__GNUC__)
#define VG_INLINE __attribute__((always_inline)) inline
#else
#define VG_INLINE inline
#endif

#endif
