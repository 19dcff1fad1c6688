// Package audio analyses the WAV recordings made by simulated phones in the
// Asterisk integration tests, so a test can assert who hears whom.
//
// Each simulated phone plays its own tone (customer 400 Hz, agent 1000 Hz,
// supervisor 2500 Hz; Asterisk's beep is about 700 Hz) and records only what
// it hears. A phone "hears" a party when that party's tone is in its
// recording.
//
// # Method
//
// The recording is cut into consecutive 20 ms blocks ([Block]) and the level
// of each tone is measured per block with a Goertzel filter, a single-bin DFT
// that is cheap and needs no FFT library. The level is scaled so that a
// full-scale sine reads 0 dBFS (amplitude = 2|X|/N).
//
// 20 ms is short enough to time a mode switch to within one block, yet long
// enough for a narrow bin: at 8 kHz a block has N = 160 samples and the DFT
// bins are 8000/160 = 50 Hz apart. 400, 700, 1000 and 2500 Hz are multiples
// of 50 Hz, so each tone completes a whole number of cycles per block and
// falls exactly on a bin; the other tones' bins see zero leakage (the
// rectangular window's nulls sit on every other bin). In practice the only
// energy left in an "absent" bin is 16-bit quantisation noise, around
// −120 dBFS. The same holds at 16 kHz (N = 320) and any rate whose block is
// a whole number of samples.
//
// # Threshold
//
// The phones play their tones at about −19 dBFS, and a bin without the tone
// reads below −100 dBFS, so [PresentDBFS] = −40 dBFS sits roughly in the
// middle (21 dB below a tone, 60 dB above silence) and tolerates codec loss,
// gain changes and mixing. A party is heard during an interval when at least
// 90% of its blocks are present (a block straddling a switch may read low),
// and not heard when no block is present.
//
// Broadband noise is the limit: a 50 Hz bin holds 1/80 of the power of
// 8 kHz white noise, and with the sine scaling white noise at −20 dBFS RMS
// reads about −37 dBFS per bin (median), so it counts as "present" in about
// two thirds of the blocks: well short of the 90% needed to "hear", but
// enough to fail "does not hear". Measured over 10 s with a fixed seed, the
// loudest block of any of the four tones reads −27 dBFS at −20 dBFS RMS
// noise, −42 dBFS at −35 dBFS RMS and −45 dBFS at −38 dBFS RMS; so white
// noise must stay below roughly −38 dBFS RMS for "does not hear" to hold
// with a margin. The test recordings are clean tones, so this is not a
// concern there, but it matters if a real codec adds comfort noise.
//
// # WAV input
//
// [ReadWAV] accepts RIFF/WAVE, 16-bit little-endian PCM at any rate, as
// written by MixMonitor. Unknown chunks (LIST etc.) are skipped. If the data
// chunk size is 0, 0xFFFFFFFF or larger than the file (a recording that was
// not finalised), samples are read to end of file. Files with more than one
// channel are mixed down to mono by averaging, so a tone on only one of two
// channels reads 6 dB lower.
package audio
