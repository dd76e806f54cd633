/* libFuzzer target `fft`: csrc/vg_fft.c (complex and real FFT of any length 1..4096).
 *
 * Input: u16 n-1 (n = 1 + v % 4096), u8 flags (bit 0: raw float64 samples instead of int16),
 * then samples (zero-padded to n). Checks: plans of every length initialise, a too-small
 * plan buffer gives VG_ERR_BUFFER, a plan of the other kind VG_ERR_PARAM; on int16 input
 * inverse(forward(x)) == n x and the real FFT equals the complex FFT of (x, 0), within
 * 1e-9 of the signal's scale; on any input no memory error or undefined behaviour. */
#include <math.h>

#include "fuzz_input.h"
#include "vg_fft.h"
#include "vg_status.h"

static void *plan(int real, size_t n, size_t *nbytes)
{
    void *mem;
    int st = real ? vg_rfft_plan_bytes(n, nbytes) : vg_cfft_plan_bytes(n, nbytes);
    FUZZ_CHECK(st == VG_OK, "plan_bytes(%zu) = %d", n, st);
    mem = malloc(*nbytes);
    if (mem == NULL) abort();
    if (*nbytes > 8) {
        st = real ? vg_rfft_plan_init(mem, *nbytes - 8, n) : vg_cfft_plan_init(mem, *nbytes - 8, n);
        FUZZ_CHECK(st == VG_ERR_BUFFER, "short plan buffer accepted for n=%zu (%d)", n, st);
    }
    st = real ? vg_rfft_plan_init(mem, *nbytes, n) : vg_cfft_plan_init(mem, *nbytes, n);
    FUZZ_CHECK(st == VG_OK, "plan_init(%zu) = %d", n, st);
    return mem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size, 0};
    size_t n = 1 + (size_t)fuzz_uint(&in, 2) % 4096, m = 0, i, nb_c, nb_r, s_c = 0, s_r = 0;
    int raw = (int)(fuzz_uint(&in, 1) & 1), st;
    double *samples = fuzz_samples(&in, raw, n, &m);
    double *x = calloc(n, sizeof(double)), *re = calloc(n, sizeof(double)), *im = calloc(n, sizeof(double));
    double *ore = calloc(n / 2 + 1, sizeof(double)), *oim = calloc(n / 2 + 1, sizeof(double));
    double *sc, *sr, scale = 0.0, err = 0.0, tol;
    void *cplan, *rplan;
    if (x == NULL || re == NULL || im == NULL || ore == NULL || oim == NULL) abort();
    for (i = 0; i < m; i++) x[i] = samples[i];
    cplan = plan(0, n, &nb_c);
    rplan = plan(1, n, &nb_r);
    FUZZ_CHECK(vg_cfft_scratch_len(cplan, &s_c) == VG_OK && s_c >= 1, "cfft scratch");
    FUZZ_CHECK(vg_rfft_scratch_len(rplan, &s_r) == VG_OK && s_r >= 1, "rfft scratch");
    sc = malloc(s_c * sizeof(double));
    sr = malloc(s_r * sizeof(double));
    if (sc == NULL || sr == NULL) abort();
    /* the wrong kind of plan is refused */
    st = vg_cfft_forward(rplan, re, im, sc);
    FUZZ_CHECK(st == VG_ERR_PARAM, "cfft with an rfft plan gave %d", st);

    for (i = 0; i < n; i++) {
        re[i] = x[i];
        im[i] = 0.0;
        if (isfinite(x[i]) && fabs(x[i]) > scale) scale = fabs(x[i]);
    }
    FUZZ_CHECK(vg_cfft_forward(cplan, re, im, sc) == VG_OK, "cfft forward");
    FUZZ_CHECK(vg_rfft_forward(rplan, x, ore, oim, sr) == VG_OK, "rfft forward");
    if (!raw) {
        tol = 1e-9 * (scale > 0 ? scale : 1.0) * (double)n;
        for (i = 0; i <= n / 2; i++) {
            double e = fmax(fabs(ore[i] - re[i]), fabs(oim[i] - im[i]));
            if (e > err) err = e;
        }
        FUZZ_CHECK(err <= tol, "rfft differs from cfft by %g (n=%zu)", err, n);
        FUZZ_CHECK(vg_cfft_inverse(cplan, re, im, sc) == VG_OK, "cfft inverse");
        err = 0.0;
        for (i = 0; i < n; i++) {
            double e = fmax(fabs(re[i] / (double)n - x[i]), fabs(im[i] / (double)n));
            if (e > err) err = e;
        }
        FUZZ_CHECK(err <= 1e-9 * (scale > 0 ? scale : 1.0), "inverse(forward(x)) != n x: %g (n=%zu)", err, n);
    } else {
        (void)vg_cfft_inverse(cplan, re, im, sc);
    }
    free(samples);
    free(x);
    free(re);
    free(im);
    free(ore);
    free(oim);
    free(sc);
    free(sr);
    free(cplan);
    free(rplan);
    return 0;
}
