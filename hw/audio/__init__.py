"""Audio for spoken announcements: a speech engine (espeak-ng, :mod:`hw.audio.espeak`) renders text to a
WAV file, an audio sink (:mod:`hw.audio.sink`) plays it — an ALSA or PulseAudio device on a vehicle, a
directory of WAV files in tests and simulator runs."""
