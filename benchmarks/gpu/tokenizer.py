"""A stand-in Gemma tokenizer: a SentencePiece unigram model built byte by byte (no training, no torch).

The real one is gated and its values are not ours to ship; this one has the same vocabulary size, the
ids ComfyUI's Gemma code uses (pad 0, eos 1, bos 2, unk 3), byte fallback (any text encodes), and
whole pieces for every lowercase string of up to three letters and most of four (each with and without
the word-start mark), so English splits into about as many tokens as with Gemma's own and generated ids
decode to short words that encode back to about as many tokens.
"""

from __future__ import annotations

import itertools
import string
import struct

VOCAB_SIZE = 262144
CONTROL = [("<pad>", 3), ("<eos>", 3), ("<bos>", 3), ("<unk>", 2)]
NORMAL, BYTE = 1, 6
WORD_START = "\u2581"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _piece(text: str, score: float, kind: int) -> bytes:
    """ModelProto.pieces: SentencePiece {piece = 1, score = 2, type = 3}."""
    body = _field(1, text.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", score) + _int_field(3, kind)
    return _field(1, body)


def _normal_pieces(count: int) -> list[str]:
    """Printable ASCII, then lowercase strings by length, each as a word start and as a continuation."""
    seen: dict[str, None] = {}
    for char in string.digits + string.ascii_letters + string.punctuation:
        seen.setdefault(char)
        seen.setdefault(WORD_START + char)
    for length in range(2, 5):
        for letters in itertools.product(string.ascii_lowercase, repeat=length):
            word = "".join(letters)
            seen.setdefault(WORD_START + word)
            seen.setdefault(word)
            if len(seen) >= count:
                return list(seen)[:count]
    return list(seen)[:count]


def model_proto(vocab_size: int = VOCAB_SIZE) -> bytes:
    """The serialized SentencePiece ModelProto (the same bytes on every machine)."""
    pieces = [_piece(text, 0.0, kind) for text, kind in CONTROL]
    pieces += [_piece(f"<0x{b:02X}>", 0.0, BYTE) for b in range(256)]
    normal = vocab_size - len(pieces) - 1
    pieces.append(_piece(WORD_START, -2.0, NORMAL))
    pieces += [_piece(text, -1.0, NORMAL) for text in _normal_pieces(normal)]
    # TrainerSpec: model_type 3 (UNIGRAM = 1), vocab_size 4, byte_fallback 35, unk/bos/eos/pad ids 40-43,
    # and the bos/eos piece names 46/47 (Gemma's, not SentencePiece's default <s> and </s>).
    trainer = (_int_field(3, 1) + _int_field(4, vocab_size) + _int_field(35, 1)
               + _int_field(40, 3) + _int_field(41, 2) + _int_field(42, 1) + _int_field(43, 0)
               + _field(46, b"<bos>") + _field(47, b"<eos>"))
    # NormalizerSpec: name 1, add_dummy_prefix 3, remove_extra_whitespaces 4, escape_whitespaces 5.
    normalizer = _field(1, b"identity") + _int_field(3, 1) + _int_field(4, 0) + _int_field(5, 1)
    return b"".join(pieces) + _field(2, trainer) + _field(3, normalizer)
