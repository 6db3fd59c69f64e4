"""Decoding for speech recognition: n-gram language models (ARPA) for CTC beam search."""
