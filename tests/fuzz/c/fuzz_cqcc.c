/* libFuzzer target `cqcc`: the constant-Q transform and CQCC of csrc/vg_cqt.c with parameters
 * and audio from the input.
 *
 * Input (little-endian): u16 hop_length (% 4097), u16 fmin in 0.1 Hz, u16 n_bins (% 1025),
 * u8 bins_per_octave, u8 bandwidth in hundredths, u8 resample_d, u8 n_coeffs, u8 flags
 * (bit 0 deltas, bit 1 raw float64 samples, bit 2 raw float64 fmin and bandwidth from the
 * next 16 bytes: any double, to probe the parameter checks and the geometry), u8
 * delta_width (% 16), u8 rate (index into RATES), then samples (at most 16384).
 * Checks: vg_cqt_geometry and the transforms agree on what they refuse; runs whose padded
 * length or output would exceed a few MB are only sized, not computed; with int16 input
 * every output value is finite. */
#include <math.h>

#include "fuzz_input.h"
#include "vg_features.h"
#include "vg_fft.h"
#include "vg_status.h"

static const double RATES[] = {16000, 8000, 44100, 0, -1, NAN, INFINITY, 1e-300, 48000, 1, 1e300};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size, 0};
    vg_cqt_params p;
    vg_cqcc_params c;
    size_t n = 0, T = 0, M = 0, L = 0, rows = 0, nb_r = 0, nb_c = 0, i;
    int flags, st, st_geo, st_cqcc;
    double *y;
    float *out;
    void *rplan, *cplan;
    p.hop_length = (size_t)fuzz_uint(&in, 2) % 4097;
    p.fmin = (double)fuzz_uint(&in, 2) / 10.0;
    p.n_bins = (size_t)fuzz_uint(&in, 2) % 1025;
    p.bins_per_octave = (double)fuzz_uint(&in, 1);
    p.bandwidth = (double)fuzz_uint(&in, 1) / 100.0;
    c.resample_d = (size_t)fuzz_uint(&in, 1);
    c.n_coeffs = (size_t)fuzz_uint(&in, 1);
    flags = (int)fuzz_uint(&in, 1);
    c.deltas = flags & 1;
    c.delta_width = (size_t)fuzz_uint(&in, 1) % 16;
    p.sr = RATES[fuzz_uint(&in, 1) % (sizeof RATES / sizeof RATES[0])];
    if (flags & 4) {
        p.fmin = fuzz_double(&in);
        p.bandwidth = fuzz_double(&in);
    }
    y = fuzz_samples(&in, flags & 2, 16384, &n);

    st_geo = vg_cqt_geometry(n, &p, &T, &M, &L);
    st_cqcc = vg_cqcc_check(&p, &c);
    FUZZ_CHECK(vg_cqcc_rows(&c, &rows) == VG_OK, "rows");
    if (st_geo != VG_OK || y == NULL) {
        double dummy = 0.0;
        float fout = 0.0f;
        uint64_t fake[8] = {0};
        st = vg_cqt_magnitude(y ? y : &dummy, y ? n : 0, &p, fake, fake, &fout);
        FUZZ_CHECK(st != VG_OK, "vg_cqt_magnitude accepted what vg_cqt_geometry refused");
        st = vg_cqcc(y ? y : &dummy, y ? n : 0, &p, &c, fake, fake, &fout);
        FUZZ_CHECK(st != VG_OK, "vg_cqcc accepted what vg_cqt_geometry refused");
        free(y);
        return 0;
    }
    FUZZ_CHECK(T >= 1 && M >= T && L == M * p.hop_length && L >= n, "geometry T=%zu M=%zu L=%zu n=%zu", T, M, L, n);
    if (L > (1u << 18) || T * (p.n_bins > rows ? p.n_bins : rows) > 400000 || p.n_bins * M > (1u << 20)) {
        free(y);
        return 0;
    }
    FUZZ_CHECK(vg_rfft_plan_bytes(L, &nb_r) == VG_OK && vg_cfft_plan_bytes(M, &nb_c) == VG_OK, "plan bytes");
    rplan = malloc(nb_r);
    cplan = malloc(nb_c);
    out = malloc(T * (p.n_bins > rows ? p.n_bins : rows) * sizeof(float));
    if (rplan == NULL || cplan == NULL || out == NULL) abort();
    FUZZ_CHECK(vg_rfft_plan_init(rplan, nb_r, L) == VG_OK && vg_cfft_plan_init(cplan, nb_c, M) == VG_OK, "plans");
    st = vg_cqt_magnitude(y, n, &p, rplan, cplan, out);
    FUZZ_CHECK(st == VG_OK, "vg_cqt_magnitude failed (%d) on a valid geometry", st);
    if (!(flags & 2))
        for (i = 0; i < p.n_bins * T; i++)
            FUZZ_CHECK(isfinite(out[i]) && out[i] >= 0.0f, "CQT value %zu is %g", i, (double)out[i]);
    st = vg_cqcc(y, n, &p, &c, rplan, cplan, out);
    if (st_cqcc != VG_OK) {
        FUZZ_CHECK(st != VG_OK, "vg_cqcc accepted what vg_cqcc_check refused");
    } else if (st == VG_OK && !(flags & 2)) {
        for (i = 0; i < rows * T; i++) FUZZ_CHECK(isfinite(out[i]), "CQCC value %zu is %g", i, (double)out[i]);
    } else {
        FUZZ_CHECK(st == VG_OK || st == VG_ERR_SIZE, "vg_cqcc failed (%d) on checked parameters", st);
    }
    free(rplan);
    free(cplan);
    free(out);
    free(y);
    return 0;
}
