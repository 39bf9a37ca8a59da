"""Compiled kernels for the hot path: hashing, shingling, MinHash, verification.

Every kernel works on a whole batch laid out as one UTF-8 byte buffer plus an
offsets array (block i is ``data[offsets[i]:offsets[i + 1]]``), so that Python
never loops per shingle or per block. Kernels run on one thread and release
the GIL: the pipeline keeps the cores busy with one batch each, which scales
better than splitting every kernel call over threads that then wait for each
other. The hash functions are written out here
(XXH32, XXH64, the MurmurHash3 finalizer) because numba cannot call the C
library; tests check them bit for bit against the ``xxhash`` package and the
MinHash values against ``datasketch``.

All arithmetic is done in uint64 with explicit masks: numba promotes mixed
signed/unsigned integers to float64, so every constant is a ``np.uint64``.
"""

from __future__ import annotations

import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

U64 = np.uint64
MASK32 = U64(0xFFFFFFFF)


def load_numba_without_blas() -> None:
    """Load numba's implementations of Python and numpy now, without importing scipy.linalg for them.

    numba loads them at the first kernel a process runs, and one of them (``numba.np.arraymath``) imports
    ``scipy.linalg.cython_blas`` only to know whether ``np.dot`` of two vectors may call BLAS: 0.2-0.4 s of
    every run when scipy is installed, as it is with dedup. No kernel here uses BLAS. The command line, whose
    process is its own, calls this before any other thread runs: the module is marked missing while numba
    loads, so numba's ``np.dot`` of two vectors loops instead (same results), and nothing else changes; the
    mark is gone afterwards, so scipy.linalg imports as usual. A process that already loaded either keeps them.
    """
    from numba.core.registry import cpu_target

    blas = "scipy.linalg.cython_blas"
    hidden = blas not in sys.modules and "numba.np.arraymath" not in sys.modules
    if hidden:
        sys.modules[blas] = None  # type: ignore[assignment]  # what "import" reads as "not installed"
    try:
        cpu_target.target_context.refresh()
    finally:
        if hidden and blas in sys.modules and sys.modules[blas] is None:  # still the mark, not a module
            del sys.modules[blas]


_P32_1 = U64(2654435761)
_P32_2 = U64(2246822519)
_P32_3 = U64(3266489917)
_P32_4 = U64(668265263)
_P32_5 = U64(374761393)

_P64_1 = U64(0x9E3779B185EBCA87)
_P64_2 = U64(0xC2B2AE3D27D4EB4F)
_P64_3 = U64(0x165667B19E3779F9)
_P64_4 = U64(0x85EBCA77C2B2AE63)
_P64_5 = U64(0x27D4EB2F165667C5)

MERSENNE_61 = U64((1 << 61) - 1)

SPACE = np.uint8(32)


LITTLE_ENDIAN = sys.byteorder == "little"


def _unaligned_load(bits: int):  # type: ignore[no-untyped-def]
    """An intrinsic that reads a ``bits``-wide word at any byte index of a contiguous uint8 array.

    One unaligned load instead of ``bits / 8`` byte loads, shifts and ors (the hashes read every
    byte of every shingle this way); the word is in the machine's byte order, so callers use it
    on little-endian machines only.
    """

    @intrinsic
    def load(typingctx, data, index):  # type: ignore[no-untyped-def]
        if not (isinstance(data, types.Array) and data.dtype == types.uint8 and data.layout == "C"):
            return None
        signature = types.uint64(data, index)

        def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
            array = context.make_array(sig.args[0])(context, builder, args[0])
            position = context.cast(builder, args[1], sig.args[1], types.intp)
            pointer = builder.bitcast(builder.gep(array.data, [position]), ir.IntType(bits).as_pointer())
            word = builder.load(pointer, align=1)
            return word if bits == 64 else builder.zext(word, ir.IntType(64))

        return signature, codegen

    return load


_load32 = _unaligned_load(32)
_load64 = _unaligned_load(64)


@njit(inline="always")
def _read32(data, p):
    if LITTLE_ENDIAN:
        return _load32(data, p)
    return U64(data[p]) | (U64(data[p + 1]) << U64(8)) | (U64(data[p + 2]) << U64(16)) | (U64(data[p + 3]) << U64(24))


@njit(inline="always")
def _read64(data, p):
    if LITTLE_ENDIAN:
        return _load64(data, p)
    return _read32(data, p) | (_read32(data, p + 4) << U64(32))


@njit(inline="always")
def _rotl32(x, r):
    return ((x << U64(r)) | (x >> U64(32 - r))) & MASK32


@njit(inline="always")
def _rotl64(x, r):
    return (x << U64(r)) | (x >> U64(64 - r))


@njit(inline="always")
def _round32(acc, lane):
    acc = (acc + lane * _P32_2) & MASK32
    return (_rotl32(acc, 13) * _P32_1) & MASK32


@njit(cache=True, nogil=True)
def xxh32(data, start, end, seed):
    """XXH32 of ``data[start:end]``, returned as uint64 (value < 2**32)."""
    return _xxh32(data, start, end, seed)


@njit(inline="always")
def _xxh32(data, start, end, seed):
    """XXH32, inlined where shingles are hashed: a call per shingle cost as much as the hash of a short one."""
    seed = U64(seed) & MASK32
    n = end - start
    p = start
    if n >= 16:
        v1 = (seed + _P32_1 + _P32_2) & MASK32
        v2 = (seed + _P32_2) & MASK32
        v3 = seed
        v4 = (seed + U64(1 << 32) - _P32_1) & MASK32
        while p + 16 <= end:
            v1 = _round32(v1, _read32(data, p))
            v2 = _round32(v2, _read32(data, p + 4))
            v3 = _round32(v3, _read32(data, p + 8))
            v4 = _round32(v4, _read32(data, p + 12))
            p += 16
        h = (_rotl32(v1, 1) + _rotl32(v2, 7) + _rotl32(v3, 12) + _rotl32(v4, 18)) & MASK32
    else:
        h = (seed + _P32_5) & MASK32
    h = (h + U64(n)) & MASK32
    while p + 4 <= end:
        h = (h + _read32(data, p) * _P32_3) & MASK32
        h = (_rotl32(h, 17) * _P32_4) & MASK32
        p += 4
    while p < end:
        h = (h + U64(data[p]) * _P32_5) & MASK32
        h = (_rotl32(h, 11) * _P32_1) & MASK32
        p += 1
    h ^= h >> U64(15)
    h = (h * _P32_2) & MASK32
    h ^= h >> U64(13)
    h = (h * _P32_3) & MASK32
    h ^= h >> U64(16)
    return h


@njit(inline="always")
def _round64(acc, lane):
    acc = acc + lane * _P64_2
    return _rotl64(acc, 31) * _P64_1


@njit(inline="always")
def _merge64(acc, v):
    acc ^= _round64(U64(0), v)
    return acc * _P64_1 + _P64_4


@njit(cache=True, nogil=True)
def xxh64(data, start, end, seed):
    """XXH64 of ``data[start:end]``."""
    seed = U64(seed)
    n = end - start
    p = start
    if n >= 32:
        v1 = seed + _P64_1 + _P64_2
        v2 = seed + _P64_2
        v3 = seed
        v4 = seed - _P64_1
        while p + 32 <= end:
            v1 = _round64(v1, _read64(data, p))
            v2 = _round64(v2, _read64(data, p + 8))
            v3 = _round64(v3, _read64(data, p + 16))
            v4 = _round64(v4, _read64(data, p + 24))
            p += 32
        h = _rotl64(v1, 1) + _rotl64(v2, 7) + _rotl64(v3, 12) + _rotl64(v4, 18)
        h = _merge64(h, v1)
        h = _merge64(h, v2)
        h = _merge64(h, v3)
        h = _merge64(h, v4)
    else:
        h = seed + _P64_5
    h += U64(n)
    while p + 8 <= end:
        h ^= _round64(U64(0), _read64(data, p))
        h = _rotl64(h, 27) * _P64_1 + _P64_4
        p += 8
    if p + 4 <= end:
        h ^= _read32(data, p) * _P64_1
        h = _rotl64(h, 23) * _P64_2 + _P64_3
        p += 4
    while p < end:
        h ^= U64(data[p]) * _P64_5
        h = _rotl64(h, 11) * _P64_1
        p += 1
    h ^= h >> U64(33)
    h *= _P64_2
    h ^= h >> U64(29)
    h *= _P64_3
    h ^= h >> U64(32)
    return h


@njit(cache=True, nogil=True)
def xxh64_blocks(data, offsets, seed):
    """XXH64 of every block of a batch."""
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = xxh64(data, offsets[i], offsets[i + 1], seed)
    return out


@njit(inline="always")
def decode_utf8(data, p):
    """The code point starting at byte p, and its length in bytes (valid UTF-8)."""
    b0 = np.int64(data[p])
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (np.int64(data[p + 1]) & 0x3F), 2
    if b0 < 0xF0:
        return ((b0 & 0x0F) << 12) | ((np.int64(data[p + 1]) & 0x3F) << 6) | (np.int64(data[p + 2]) & 0x3F), 3
    return (
        ((b0 & 0x07) << 18)
        | ((np.int64(data[p + 1]) & 0x3F) << 12)
        | ((np.int64(data[p + 2]) & 0x3F) << 6)
        | (np.int64(data[p + 3]) & 0x3F)
    ), 4


@njit(inline="always")
def _is_spaceless(cp):
    """Han, Hiragana, Katakana, Thai, Lao, Khmer and Myanmar: scripts written without spaces."""
    return (
        (0x0E00 <= cp <= 0x0EFF)  # Thai, Lao
        or (0x1000 <= cp <= 0x109F)  # Myanmar
        or (0x1780 <= cp <= 0x17FF)  # Khmer
        or (0x19E0 <= cp <= 0x19FF)  # Khmer symbols
        or (0x2E80 <= cp <= 0x2FDF)  # CJK and Kangxi radicals
        or (0x3005 <= cp <= 0x3007)  # ideographic iteration and number marks
        or (0x3021 <= cp <= 0x3029)  # Hangzhou numerals
        or (0x3040 <= cp <= 0x30FF)  # Hiragana, Katakana
        or (0x31F0 <= cp <= 0x31FF)  # Katakana extensions
        or (0x3400 <= cp <= 0x4DBF)  # CJK extension A
        or (0x4E00 <= cp <= 0x9FFF)  # CJK unified ideographs
        or (0xA9E0 <= cp <= 0xA9FF)  # Myanmar extended B
        or (0xAA60 <= cp <= 0xAA7F)  # Myanmar extended A
        or (0xF900 <= cp <= 0xFAFF)  # CJK compatibility ideographs
        or (0xFF66 <= cp <= 0xFF9F)  # halfwidth Katakana
        or (0x1B000 <= cp <= 0x1B16F)  # Kana supplement and extensions
        or (0x20000 <= cp <= 0x323AF)  # CJK extensions B to H
    )


@njit(cache=True, nogil=True)
def text_counts(data, offsets):
    """Words (single-space separated), characters and spaceless-script characters of every text."""
    n = offsets.shape[0] - 1
    words = np.zeros(n, np.int64)
    chars = np.zeros(n, np.int64)
    spaceless = np.zeros(n, np.int64)
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        if end == start:
            continue
        w, c, z = 1, 0, 0
        for p in range(start, end):
            b = data[p]
            # A character starts at every byte but a continuation byte; the spaceless scripts all
            # start at U+0E00 and up, which takes a lead byte of 0xE0 or more: only those are decoded.
            c += (b & 0xC0) != 0x80
            w += b == SPACE
            if b >= 0xE0 and _is_spaceless(decode_utf8(data, p)[0]):
                z += 1
        words[i], chars[i], spaceless[i] = w, c, z
    return words, chars, spaceless


# ---------------------------------------------------------------- shingling


@njit(inline="always")
def _is_letter(b):
    """Whether a byte opens a letter: an ASCII letter or any character beyond ASCII (``_unit_starts``)."""
    return b >= 0x80 or 97 <= (b | 0x20) <= 122  # | 0x20: A-Z to a-z, nothing else into a-z


@njit(inline="always")
def _unit_starts(data, start, end, by_char, buf, letters):
    """Fill buf with the start of every unit (word or character); return the count.

    Words are separated by single spaces (the normalized form guarantees it); characters start at every byte
    that is not a UTF-8 continuation byte. ``letters[k]`` counts the units among the first k that hold a
    letter, so that whether a shingle holds one is a subtraction: a shingle of numbers alone (``3,5 10``)
    carries no weight. The near form keeps punctuation only inside words, so a letter is an ASCII letter or
    any character beyond ASCII (the letters of other scripts; their rare digits and signs inside words count
    too).
    """
    count = 0
    letters[0] = 0
    if by_char:
        for p in range(start, end):
            b = data[p]
            if (b & 0xC0) != 0x80:
                buf[count] = p
                count += 1
                letters[count] = letters[count - 1] + _is_letter(b)
    elif end > start:
        buf[0] = start
        count = 1
        has_letter = 0
        for p in range(start, end):
            b = data[p]
            if b == SPACE:
                letters[count] = letters[count - 1] + has_letter
                buf[count] = p + 1
                count += 1
                has_letter = 0
            elif _is_letter(b):
                has_letter = 1
        letters[count] = letters[count - 1] + has_letter
    return count


@njit(cache=True, nogil=True)
def _hash_block(data, start, end, by_char, letters_only, k_n, buf, letters, out, w, room, hash_seed):
    """Hash the content shingles of one block into ``out[w:]``; returns how many.

    ``letters_only``: only the shingles holding a letter count; otherwise every shingle does."""
    units = _unit_starts(data, start, end, by_char, buf, letters)
    # The caller sized the output from counts made elsewhere: writing past them would corrupt memory.
    if max(units - k_n + 1, 1) != room:
        raise ValueError("shingle counts do not match the texts")
    buf[units] = end + 1  # a virtual unit start one past the end
    if units < k_n:
        if letters_only and letters[units] == 0:
            return 0
        out[w] = np.uint32(_xxh32(data, start, end, hash_seed))
        return 1
    written = 0
    for k in range(units - k_n + 1):
        if letters_only and letters[k + k_n] == letters[k]:  # no letter in units k .. k + n - 1
            continue
        # A word shingle ends before the separating space; a char shingle
        # ends where the next character starts (or at the end of the text).
        stop = (end if k + k_n == units else buf[k + k_n]) if by_char else buf[k + k_n] - 1
        out[w + written] = np.uint32(_xxh32(data, buf[k], stop, hash_seed))
        written += 1
    return written


@njit(cache=True, nogil=True)
def hash_shingles(data, offsets, by_char, letters_only, n, room_offsets, hash_seed):
    """XXH32 of every content shingle of every block: the values and their offsets per block.

    A shingle is the byte span from the start of unit k to the end of unit k + n - 1, which is exactly
    the UTF-8 encoding of the Python string ``" ".join(words[k:k + n])`` (or ``text[k:k + n]`` for
    characters). ``room_offsets`` lays out room for every shingle of each block; in the blocks where
    ``letters_only`` is true, shingles made of no letter are left out (see ``_unit_starts``).
    """
    nb = offsets.shape[0] - 1
    room = np.empty(room_offsets[nb], dtype=np.uint32)
    counts = np.zeros(nb, dtype=np.int64)
    longest = 0
    for i in range(nb):
        longest = max(longest, offsets[i + 1] - offsets[i])
    buf = np.empty(longest + 1, dtype=np.int64)  # unit starts of one block at a time
    letters = np.empty(longest + 2, dtype=np.int64)  # and how many of them hold a letter
    for i in range(nb):
        size = room_offsets[i + 1] - room_offsets[i]
        if offsets[i + 1] > offsets[i]:
            counts[i] = _hash_block(
                data,
                offsets[i],
                offsets[i + 1],
                by_char[i],
                letters_only[i],
                n[i],
                buf,
                letters,
                room,
                room_offsets[i],
                size,
                hash_seed,
            )
        elif size != 0:
            raise ValueError("shingle counts do not match the texts")
    out_offsets = np.zeros(nb + 1, dtype=np.int64)
    out_offsets[1:] = np.cumsum(counts)
    out = np.empty(out_offsets[nb], dtype=np.uint32)
    for i in range(nb):
        out[out_offsets[i] : out_offsets[i + 1]] = room[room_offsets[i] : room_offsets[i] + counts[i]]
    return out, out_offsets


@njit(cache=True, nogil=True)
def sort_unique_segments(values, offsets):
    """Sort every segment and drop repeats; return (values, offsets) of the sets."""
    nb = offsets.shape[0] - 1
    sizes = np.zeros(nb, dtype=np.int64)
    work = values.copy()
    for i in range(nb):
        s, e = offsets[i], offsets[i + 1]
        if e == s:
            continue
        seg = work[s:e]
        seg.sort()  # in place, on a view: no allocation per block
        m = 1
        for j in range(1, e - s):
            if seg[j] != seg[m - 1]:
                seg[m] = seg[j]
                m += 1
        sizes[i] = m
    out_offsets = np.zeros(nb + 1, dtype=np.int64)
    out_offsets[1:] = np.cumsum(sizes)
    out = np.empty(out_offsets[nb], dtype=values.dtype)
    for i in range(nb):
        out[out_offsets[i] : out_offsets[i + 1]] = work[offsets[i] : offsets[i] + sizes[i]]
    return out, out_offsets


# ------------------------------------------------------------------ MinHash


@njit(inline="always")
def _fmix32(h):
    h ^= h >> U64(16)
    h = (h * U64(0x85EBCA6B)) & MASK32
    h ^= h >> U64(13)
    h = (h * U64(0xC2B2AE35)) & MASK32
    h ^= h >> U64(16)
    return h


@njit(cache=True, nogil=True)
def minhash_affine32(hashes, offsets, a, b):
    """datasketch's "affine32" scheme: min over h of a * fmix32(h) + b mod 2**32."""
    nb = offsets.shape[0] - 1
    num_perm = a.shape[0]
    sig = np.empty((nb, num_perm), dtype=np.uint32)
    a32 = a.astype(np.uint32)
    b32 = b.astype(np.uint32)
    row = np.empty(num_perm, dtype=np.uint32)
    for i in range(nb):
        row[:] = np.uint32(0xFFFFFFFF)
        for j in range(offsets[i], offsets[i + 1]):
            hv = np.uint32(_fmix32(U64(hashes[j])))
            for k in range(num_perm):
                # numba widens uint32 products to 64 bits; each cast back to uint32 is the intended wrap-around
                # mod 2**32, and keeps the loop in 32-bit lanes. An unconditional min (no branch, no
                # conditional store) over a row of its own lets LLVM vectorize the loop: 6-8 times faster
                # on AVX2, which has no 64-bit vector multiply.
                phv = np.uint32(np.uint32(a32[k] * hv) + b32[k])
                row[k] = min(row[k], phv)
        sig[i] = row
    return sig


@njit(cache=True, nogil=True)
def minhash_legacy(hashes, offsets, a, b):
    """datasketch's "legacy" scheme: ((a * h + b) mod 2**64 mod (2**61 - 1)) & (2**32 - 1)."""
    nb = offsets.shape[0] - 1
    num_perm = a.shape[0]
    sig = np.empty((nb, num_perm), dtype=np.uint32)
    row = np.empty(num_perm, dtype=np.uint32)
    for i in range(nb):
        row[:] = np.uint32(0xFFFFFFFF)
        for j in range(offsets[i], offsets[i + 1]):
            hv = U64(hashes[j])
            for k in range(num_perm):
                phv = np.uint32(((a[k] * hv + b[k]) % MERSENNE_61) & MASK32)
                row[k] = min(row[k], phv)  # as in minhash_affine32: no branch
        sig[i] = row
    return sig


@njit(cache=True, nogil=True)
def band_keys(sig, bands, rows, seed):
    """One 64-bit key per band: XXH64 over the band's rows of the signature."""
    n = sig.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    raw = sig.view(np.uint8).reshape(n, sig.shape[1] * 4)
    width = rows * 4
    for i in range(n):
        for j in range(bands):
            keys[i, j] = xxh64(raw[i], j * width, (j + 1) * width, seed)
    return keys


# ------------------------------------------------------------- verification


@njit(inline="always")
def _shared(a_values, p, pe, b_values, q, qe, weights, weighted):
    """A merge of two sorted runs: how many values they share, or the sum of the first run's weights of them."""
    total = 0
    while p < pe and q < qe:
        x, y = a_values[p], b_values[q]
        if x == y:
            total += weights[p] if weighted else 1
            p += 1
            q += 1
        elif x < y:
            p += 1
        else:
            q += 1
    return total


@njit(cache=True, nogil=True)
def intersect_sizes(values, offsets, left, right):
    """|A ∩ B| for every pair of sorted unique sets (left[k], right[k])."""
    out = np.zeros(left.shape[0], dtype=np.int64)
    for k in range(left.shape[0]):
        i, j = left[k], right[k]
        out[k] = _shared(values, offsets[i], offsets[i + 1], values, offsets[j], offsets[j + 1], offsets, False)
    return out


@njit(inline="always")
def _bucket_pair_count(k, max_full):
    if k < 2:
        return 0
    return k * (k - 1) // 2 if k <= max_full else 2 * (k - 1)


@njit(inline="always")
def _bucket_end(bucketed, start, shift):
    """One past the last value of the bucket (run of equal keys) that starts at ``start``."""
    end = start + 1
    while end < bucketed.shape[0] and (bucketed[end] >> shift) == (bucketed[start] >> shift):
        end += 1
    return end


@njit(cache=True, nogil=True)
def bucket_pairs(bucketed, row_bits, max_full):
    """Pairs of rows in the same bucket of one band (left < right).

    ``bucketed`` is sorted, each value a band key in the high bits and a row
    number in the low ``row_bits`` bits: a bucket is a run of equal keys, its
    rows already in increasing order. A bucket of up to ``max_full`` rows yields
    all its pairs; a larger one (a template repeated on thousands of pages)
    yields a chain through its rows plus a star to its first row, which keeps
    every row connected for clustering without a quadratic blow-up.
    """
    n = bucketed.shape[0]
    shift = U64(row_bits)
    row_mask = (U64(1) << shift) - U64(1)
    total = 0
    s = 0
    while s < n:
        e = _bucket_end(bucketed, s, shift)
        total += _bucket_pair_count(e - s, max_full)
        s = e
    left = np.empty(total, np.int64)
    right = np.empty(total, np.int64)
    w = 0
    s = 0
    while s < n:
        e = _bucket_end(bucketed, s, shift)
        k = e - s
        if 1 < k <= max_full:
            for x in range(s, e):
                for y in range(x + 1, e):
                    left[w] = np.int64(bucketed[x] & row_mask)
                    right[w] = np.int64(bucketed[y] & row_mask)
                    w += 1
        elif k > max_full:
            first = np.int64(bucketed[s] & row_mask)
            for x in range(s + 1, e):
                row = np.int64(bucketed[x] & row_mask)
                left[w] = first
                right[w] = row
                left[w + 1] = np.int64(bucketed[x - 1] & row_mask)
                right[w + 1] = row
                w += 2
        s = e
    return left, right


@njit(inline="always")
def _root(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving keeps the trees flat
        x = parent[x]
    return x


@njit(cache=True, nogil=True)
def first_occurrence(hashes, ids, table_keys, table_ids):
    """For each hash, the id of the first item ever seen with it (across calls).

    ``table_keys`` and ``table_ids`` are an open-addressing hash table (linear
    probing, a power-of-two size, ``table_ids < 0`` marks a free slot) that the
    caller keeps between batches and keeps at most half full, so that exact
    duplicates are found in one streaming pass. Returns the ids and how many
    hashes were new.
    """
    mask = table_keys.shape[0] - 1
    out = np.empty(hashes.shape[0], dtype=np.int64)
    added = 0
    for i in range(hashes.shape[0]):
        h = hashes[i]
        slot = np.int64(h & U64(mask))  # the hashes are XXH64 values: their low bits are uniform
        while True:
            if table_ids[slot] < 0:
                table_keys[slot] = h
                table_ids[slot] = ids[i]
                out[i] = ids[i]
                added += 1
                break
            if table_keys[slot] == h:
                out[i] = table_ids[slot]
                break
            slot = (slot + 1) & mask
    return out, added


@njit(inline="always")
def _hex4(data, start):
    """The value of four hex digits at ``start``, or -1 when they are not four hex digits."""
    value = 0
    for i in range(start, start + 4):
        c = data[i]
        if 48 <= c <= 57:
            digit = c - 48
        elif 97 <= c <= 102:
            digit = c - 87
        elif 65 <= c <= 70:
            digit = c - 55
        else:
            return -1
        value = value * 16 + digit
    return value


_BYTES_01 = U64(0x0101010101010101)
_BYTES_80 = U64(0x8080808080808080)


@njit(inline="always")
def _byte_marks(word, byte):
    """The top bit of each byte of ``word`` that equals ``byte``, exact up to the first such byte.

    XOR with the byte in every lane makes that byte zero; a zero byte is the one whose borrow sets its top bit
    (a borrow can mark a later byte falsely, never an earlier one)."""
    x = word ^ (_BYTES_01 * U64(byte))
    return (x - _BYTES_01) & ~x & _BYTES_80


@njit(inline="always")
def _flag_lead_marks(word):
    """Marks of the bytes that can start what ``json_needs_care`` flags: a backslash, DEL or 0xC2."""
    return _byte_marks(word, 92) | _byte_marks(word, 127) | _byte_marks(word, 0xC2)


@njit(cache=True, nogil=True)
def json_needs_care(data):
    """Whether UTF-8 JSON holds a character that reading it as plain text would get wrong.

    Flags: the escapes \\b and \\f and \\u0000-\\u009f (control characters, and escaped ASCII that
    could spell a key), a surrogate escape that is not a high-low pair, and raw DEL or C1 controls
    (the only control characters JSON lets stand unescaped). Escapes are found with backslashes
    paired from the left, as JSON reads them: ``\\\\u0041`` is a backslash and ``u0041``.
    """
    n = data.size
    i = 0
    while i < n:
        # Eight bytes at a time up to the first that can start what is flagged (a backslash, DEL or 0xC2, the
        # lead byte of the C1 controls): most of a text is plain, and a byte at a time cost 3.7 ns per byte.
        if LITTLE_ENDIAN and i + 8 <= n:
            marks = _flag_lead_marks(_load64(data, i))
            if marks == 0:
                i += 8
                continue
            while (marks & U64(0x80)) == 0:  # little-endian: the first byte is the lowest
                marks >>= U64(8)
                i += 1
        byte = data[i]
        if byte == 92:  # a backslash starts an escape
            if i + 1 >= n:
                return True
            kind = data[i + 1]
            if kind == 98 or kind == 102:  # \b \f
                return True
            if kind != 117:  # \n, \", \\, ...: two bytes
                i += 2
                continue
            code = _hex4(data, i + 2) if i + 6 <= n else -1
            if code < 0xA0 or 0xDC00 <= code <= 0xDFFF:
                return True
            if 0xD800 <= code <= 0xDBFF:
                if i + 12 > n or data[i + 6] != 92 or data[i + 7] != 117:
                    return True
                low = _hex4(data, i + 8)
                if not 0xDC00 <= low <= 0xDFFF:
                    return True
                i += 12
                continue
            i += 6
            continue
        if byte == 127 or (byte == 0xC2 and i + 1 < n and 0x80 <= data[i + 1] <= 0x9F):
            return True
        i += 1
    return False


@njit(cache=True, nogil=True)
def key_ordinals(hashes, table_keys, table_ordinals, next_ordinal):
    """For each hash, the ordinal of its key: the number of keys seen before it first appeared (across calls).

    The same open-addressing table as ``first_occurrence`` (``table_ordinals < 0`` marks a free slot),
    kept at most half full by the caller. A new key takes ``next_ordinal`` and the count goes up, so
    ordinals are dense and in order of first appearance. Returns the ordinals, whether each hash was
    the first of its key, and the next ordinal.
    """
    mask = table_keys.shape[0] - 1
    out = np.empty(hashes.shape[0], dtype=np.int64)
    new = np.zeros(hashes.shape[0], dtype=np.bool_)
    for i in range(hashes.shape[0]):
        h = hashes[i]
        slot = np.int64(h & U64(mask))  # the hashes are XXH64 values: their low bits are uniform
        while True:
            if table_ordinals[slot] < 0:
                table_keys[slot] = h
                table_ordinals[slot] = next_ordinal
                out[i] = next_ordinal
                new[i] = True
                next_ordinal += 1
                break
            if table_keys[slot] == h:
                out[i] = table_ordinals[slot]
                break
            slot = (slot + 1) & mask
    return out, new, next_ordinal


@njit(cache=True, nogil=True)
def centres(left, right, centre, edge_jaccard, edge_containment, member_jaccard, member_containment):
    """Assign nodes to centres from verified edges sorted by (left, right), left < right; one run of a stream.

    A node that is not yet assigned when its own edges come up becomes a centre (``centre[u] = u``), and
    every node it has an edge to that is not assigned yet becomes its member, with that edge's
    similarities. A node with a smaller neighbour has been seen by then, so a member is never before its
    centre, and every member has a verified edge to its centre: clusters cannot chain. ``centre`` (-1:
    unassigned) and the member arrays carry the state from one run of edges to the next, so the edges
    can stream in sorted parts. Returns how many nodes were assigned.
    """
    assigned = 0
    for k in range(left.shape[0]):
        u, v = left[k], right[k]
        if centre[u] < 0:
            centre[u] = u
            assigned += 1
        if centre[u] == u and centre[v] < 0:
            centre[v] = u
            member_jaccard[v] = edge_jaccard[k]
            member_containment[v] = edge_containment[k]
            assigned += 1
    return assigned


@njit(cache=True, nogil=True)
def union_edges(parent, linked, left, right):
    """Union-find over edges, the root of every tree its smallest node; ``parent`` and ``linked`` (the
    nodes with an edge) carry over between calls."""
    for k in range(left.shape[0]):
        linked[left[k]] = True
        linked[right[k]] = True
        a, b = _root(parent, left[k]), _root(parent, right[k])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b


@njit(cache=True, nogil=True)
def roots(parent):
    """The root of every node (path halving as it goes)."""
    out = np.empty(parent.shape[0], np.int64)
    for x in range(parent.shape[0]):
        out[x] = _root(parent, x)
    return out


@njit(cache=True, nogil=True)
def first_two_documents(clusters, documents, first, second):
    """The first two documents of each cluster, from (cluster, document) pairs in document order.

    ``first`` and ``second`` (-1: none yet) carry over from one call to the next, so the pairs can
    stream part after part.
    """
    for k in range(clusters.shape[0]):
        c, d = clusters[k], documents[k]
        if first[c] < 0:
            first[c] = d
        elif second[c] < 0 and d != first[c]:
            second[c] = d


@njit(cache=True, nogil=True)
def covered_weights(a_offsets, a_clusters, a_weights, pair_a, b_clusters, b_offsets, pair_b):
    """For each pair (a, b): the sum of a's weights over the clusters a and b share.

    a's clusters (sorted, with weights) are ``a_clusters[a_offsets[a]:a_offsets[a + 1]]``, b's (sorted)
    ``b_clusters[b_offsets[b]:b_offsets[b + 1]]``; a merge of the two sorted lists per pair.
    """
    out = np.zeros(pair_a.shape[0], np.int64)
    for k in range(pair_a.shape[0]):
        a, b = pair_a[k], pair_b[k]
        out[k] = _shared(
            a_clusters, a_offsets[a], a_offsets[a + 1], b_clusters, b_offsets[b], b_offsets[b + 1], a_weights, True
        )
    return out


@njit(cache=True, nogil=True)
def tally_clusters(clusters, chars, short, n_blocks, n_chars, n_short):
    """Add each block (cluster >= 0) to its cluster's counts of blocks, characters and short blocks."""
    for k in range(clusters.shape[0]):
        c = clusters[k]
        if c >= 0:
            n_blocks[c] += 1
            n_chars[c] += chars[k]
            n_short[c] += short[k]


@njit(cache=True, nogil=True)
def document_cluster_weights(docs, clusters, chars):
    """Each document's clusters with the characters of its blocks in them, sorted by (document, cluster).

    ``docs`` is sorted (a batch's blocks are in document order); blocks with cluster -1 are left out.
    """
    n = docs.shape[0]
    out_doc = np.empty(n, np.int64)
    out_cluster = np.empty(n, np.int64)
    out_chars = np.empty(n, np.int64)
    w = 0
    start = 0
    while start < n:
        end = start + 1
        while end < n and docs[end] == docs[start]:
            end += 1
        segment = clusters[start:end]
        order = np.argsort(segment, kind="mergesort")
        previous = -1
        for i in order:
            c = segment[i]
            if c < 0:
                continue
            if c != previous:
                out_doc[w] = docs[start]
                out_cluster[w] = c
                out_chars[w] = 0
                w += 1
                previous = c
            out_chars[w - 1] += chars[start + i]
        start = end
    return out_doc[:w], out_cluster[:w], out_chars[:w]


@njit(cache=True, nogil=True)
def count_into(index, counts):
    """``counts[i] += 1`` for every ``i`` in ``index`` (np.add.at, without its overhead)."""
    for k in range(index.shape[0]):
        counts[index[k]] += 1


@njit(cache=True, nogil=True)
def distinct_counts(values, offsets):
    """How many distinct values each segment holds, by a hash set per segment (no sort).

    The set is an open-addressing table of at least twice the longest segment's size, emptied after
    each segment by clearing only the slots it filled.
    """
    nb = offsets.shape[0] - 1
    longest = 1
    for i in range(nb):
        longest = max(longest, offsets[i + 1] - offsets[i])
    capacity = 1
    while capacity < 2 * longest:
        capacity *= 2
    mask = U64(capacity - 1)
    table = np.zeros(capacity, np.uint32)
    used = np.zeros(capacity, np.bool_)
    filled = np.empty(longest, np.int64)
    counts = np.zeros(nb, np.int64)
    for i in range(nb):
        count = 0
        for j in range(offsets[i], offsets[i + 1]):
            value = values[j]
            slot = np.int64(_fmix32(U64(value)) & mask)  # XXH32 values are uniform, but a mix costs little
            while used[slot] and table[slot] != value:
                slot = (slot + 1) & np.int64(mask)
            if not used[slot]:
                used[slot] = True
                table[slot] = value
                filled[count] = slot
                count += 1
        for k in range(count):
            used[filled[k]] = False
        counts[i] = count
    return counts
