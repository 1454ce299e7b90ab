// espeak-ng's C API (Debian libespeak-ng-dev): text → IPA phonemes for Piper voices.
#include <espeak-ng/speak_lib.h>
