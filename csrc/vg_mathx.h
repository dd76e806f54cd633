/* Small numeric helpers shared by the feature pipelines. */
#ifndef VG_MATHX_H
#define VG_MATHX_H
#include <stdint.h>
#include <string.h>

/* float64 machine epsilon: the floor added before every log so silence stays finite */
#define VG_EPS 2.220446049250313e-16
#define VG_LN2 0.69314718055994530942

/* Natural log of x for finite normal x > 0, accurate to ~1e-15 relative, written without
 * branches or libm calls so that loops over it vectorise (log() is ~half of the CQCC time
 * otherwise). x = 2^e * m with m folded into [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s) with
 * s = (m - 1)/(m + 1), |s| <= 0.1716, summed as an odd series up to s^19. */
static inline double log_positive(double x)
{
    const uint64_t mant_mask = UINT64_C(0x000fffffffffffff);
    const uint64_t sqrt2_mant = UINT64_C(0x6a09e667f3bcd) ; /* mantissa bits of sqrt(2) */
    uint64_t bits, mant, big, mbits, ebits;
    double m, e, s, s2, p;
    memcpy(&bits, &x, sizeof bits);
    mant = bits & mant_mask;
    /* 1 when the mantissa exceeds sqrt(2)'s: the wrapped difference has its top bit set.
     * Integer arithmetic only, so the loop calling this vectorises. */
    big = (sqrt2_mant - mant) >> 63;
    mbits = mant | (UINT64_C(0x3ff0000000000000) - (big << 52));
    memcpy(&m, &mbits, sizeof m);
    /* exponent as a double without an int->double conversion: 2^52 + biased exponent */
    ebits = ((bits >> 52) + big) | UINT64_C(0x4330000000000000);
    memcpy(&e, &ebits, sizeof e);
    e -= 4503599627370496.0 + 1023.0;
    s = (m - 1.0) / (m + 1.0);
    s2 = s * s;
    p = 1.0 / 19.0;
    p = p * s2 + 1.0 / 17.0;
    p = p * s2 + 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    return e * VG_LN2 + 2.0 * s * p;
}

#define VG_INV_LN10 0.43429448190325182765

/* log10 of finite normal x > 0 through log_positive (same accuracy, vectorisable). */
static inline double log10_positive(double x)
{
    return log_positive(x) * VG_INV_LN10;
}

#endif
