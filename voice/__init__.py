"""小宝's voice: speech synthesis (speech.py, Kokoro-82M), speech recognition (listening.py, Whisper
base) and the text normalisation before synthesis (text.py). Offline: the models come from pip
packages joined by `xiaobao init`, the Mandarin voices are in voices/."""
