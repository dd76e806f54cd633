/* libFuzzer target `lfcc`: the linear power spectrogram and LFCC of csrc/vg_lfcc.c with
 * parameters and audio from the input, including invalid parameters (which must be refused
 * with a status code, never crash).
 *
 * Input (little-endian): u16 win_length (% 4097), u16 hop_length (% 2049), u16 n_fft - win
 * (% 4097), u8 window (% 4: 3 is invalid), u8 flags (bit 0 periodic, bit 1 raw float64
 * samples), u8 preemphasis (/100: >= 1 invalid), u16 n_filters (% 513), u16 n_coeffs (% 513),
 * u8 deltas, u8 delta_width (% 16), u8 rate (index into RATES: some invalid), u16 fmin and
 * u16 fmax in thousandths of the Nyquist frequency (> 1000 invalid), then samples (at most
 * 16384). Checks: the result's status agrees with vg_lfcc_check / vg_frame_count, and with
 * int16 input every output value is finite. */
#include <math.h>

#include "fuzz_input.h"
#include "vg_features.h"
#include "vg_fft.h"
#include "vg_status.h"

static const double RATES[] = {8000, 16000, 44100, 0, -1, NAN, INFINITY, 1e-300, 48000, 1, 22050, 1e300};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size, 0};
    vg_lfcc_params p;
    size_t n = 0, T = 0, rows = 0, nb = 0, i, extra;
    int flags, st, st_check, st_frames;
    double nyq, *y;
    float *out;
    void *plan;
    p.win_length = (size_t)fuzz_uint(&in, 2) % 4097;
    p.hop_length = (size_t)fuzz_uint(&in, 2) % 2049;
    extra = (size_t)fuzz_uint(&in, 2) % 4097;
    p.n_fft = p.win_length + extra;
    p.window = (int)(fuzz_uint(&in, 1) % 4);
    flags = (int)fuzz_uint(&in, 1);
    p.periodic = flags & 1;
    p.preemphasis = (double)fuzz_uint(&in, 1) / 100.0;
    p.n_filters = (size_t)fuzz_uint(&in, 2) % 513;
    p.n_coeffs = (size_t)fuzz_uint(&in, 2) % 513;
    p.deltas = (int)(fuzz_uint(&in, 1) & 1);
    p.delta_width = (size_t)fuzz_uint(&in, 1) % 16;
    p.sr = RATES[fuzz_uint(&in, 1) % (sizeof RATES / sizeof RATES[0])];
    nyq = p.sr / 2.0;
    p.fmin = nyq * (double)fuzz_uint(&in, 2) / 1000.0;
    p.fmax = nyq * (double)fuzz_uint(&in, 2) / 1000.0;
    y = fuzz_samples(&in, flags & 2, 16384, &n);

    st_check = vg_lfcc_check(&p);
    st_frames = vg_frame_count(n, p.win_length, p.hop_length, &T);
    FUZZ_CHECK(vg_lfcc_rows(&p, &rows) == VG_OK, "rows");
    if (st_check != VG_OK || st_frames != VG_OK || y == NULL || p.n_fft == 0) {
        /* refused parameters: every entry point says so without touching anything */
        double dummy = 0.0;
        float fout = 0.0f;
        uint64_t fake_plan[8] = {0};
        st = vg_lfcc(y ? y : &dummy, y ? n : 1, &p, fake_plan, &fout);
        FUZZ_CHECK(st != VG_OK, "vg_lfcc accepted what check/frame_count refused (%d, %d)", st_check, st_frames);
        st = vg_power_spectrogram(y ? y : &dummy, y ? n : 1, &p, fake_plan, &fout);
        FUZZ_CHECK(st != VG_OK, "vg_power_spectrogram accepted refused parameters");
        free(y);
        return 0;
    }
    /* keep each run small: output values and FFT work (under the sanitizers' instrumentation) */
    if (T * (rows > p.n_fft / 2 + 1 ? rows : p.n_fft / 2 + 1) > 400000 || T * p.n_fft > 262144) {
        free(y);
        return 0;
    }
    FUZZ_CHECK(vg_rfft_plan_bytes(p.n_fft, &nb) == VG_OK, "plan bytes");
    plan = malloc(nb);
    out = malloc(T * (rows > p.n_fft / 2 + 1 ? rows : p.n_fft / 2 + 1) * sizeof(float));
    if (plan == NULL || out == NULL) abort();
    FUZZ_CHECK(vg_rfft_plan_init(plan, nb, p.n_fft) == VG_OK, "plan init");
    st = vg_lfcc(y, n, &p, plan, out);
    FUZZ_CHECK(st == VG_OK, "vg_lfcc failed (%d) on checked parameters", st);
    if (!(flags & 2))
        for (i = 0; i < rows * T; i++) FUZZ_CHECK(isfinite(out[i]), "LFCC value %zu is %g", i, (double)out[i]);
    st = vg_power_spectrogram(y, n, &p, plan, out);
    FUZZ_CHECK(st == VG_OK, "vg_power_spectrogram failed (%d)", st);
    if (!(flags & 2))
        for (i = 0; i < (p.n_fft / 2 + 1) * T; i++)
            FUZZ_CHECK(isfinite(out[i]) && out[i] >= 0.0f, "power value %zu is %g", i, (double)out[i]);
    free(plan);
    free(out);
    free(y);
    return 0;
}
