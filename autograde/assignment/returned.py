"""What a kernel hands back, read and validated before any judge sees it.

A probe leaves ``out.npz`` (arrays) or ``out.json`` (a message) in its folder. Each judge says
what it expects, name by name (``Value``: shape, kind, finite). ``read`` refuses links and special
files, and a file larger than those values can take; it refuses compressed members, other
names, and headers whose dtype or shape is not the expected one, all before any array is
allocated; only then it reads the data and converts it (to float64, int64 or bool), which can
no longer multiply its size unseen. A message is bounded in bytes before it is decoded, and cut
before it is cleaned: it is the student's text, and says so wherever it is shown (``quoted``).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass

import numpy as np
from numpy.lib import format as npy

from gdkit.checks._common import CheckFailed, say

#: Most elements a value with a free dimension (``None``) may have.
MAX_ELEMENTS = 2_000_000
#: Largest ``out.json`` read, bytes; and the most of its message kept, characters.
MESSAGE_MAX_BYTES = 64 * 1024
MESSAGE_MAX_CHARS = 2000
#: Room per member for the zip's headers and the ``.npy`` header, bytes.
_MEMBER_OVERHEAD = 1024
_KINDS = {"float": "fiu", "int": "iu", "bool": "b"}
_AS = {"float": np.float64, "int": np.int64, "bool": np.bool_}
#: Terminal escape sequences (CSI, OSC, other ESC sequences); then other control characters go too.
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")


@dataclass(frozen=True)
class Value:
    """What a judge expects of one returned array.

    ``shape``: a tuple, ``None`` for a dimension of any length (at most ``MAX_ELEMENTS`` in all);
    ``kind``: "float" (real numbers, floats or integers; read as float64), "int" (integers; int64)
    or "bool"; ``finite``: False lets NaN and ±inf through, where the probe uses them to mean
    "no value" and the judge handles them itself.
    """

    shape: tuple = ()
    kind: str = "float"
    finite: bool = True
    label: str = ""  # the name the student knows it by, in messages (default: its name in the file)

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")

    def max_elements(self) -> int:
        return math.prod(self.shape) if None not in self.shape else MAX_ELEMENTS

    def describe(self) -> str:
        what = {"float": "real numbers", "int": "integers", "bool": "booleans"}[self.kind]
        if self.shape == ():
            what = {"float": "a real number", "int": "an integer", "bool": "a boolean"}[self.kind]
            return f"{what}{', finite' if self.finite and self.kind == 'float' else ''}"
        shape = "(" + ", ".join("any" if d is None else str(d) for d in self.shape) + ("," if len(self.shape) == 1 else "") + ")"
        return f"{what} of shape {shape}{', finite' if self.finite and self.kind == 'float' else ''}"


def file_limit(expect: dict[str, Value]) -> int:
    """The most bytes an ``out.npz`` holding ``expect`` takes (8 bytes per element, and headers)."""
    return sum(8 * v.max_elements() + _MEMBER_OVERHEAD for v in expect.values()) + _MEMBER_OVERHEAD


def read(folder, expect: dict[str, Value]) -> dict[str, np.ndarray]:
    """The values a probe left in ``folder``, validated against ``expect``; else ``CheckFailed``
    with the kernel's message (``out.json``, quoted) or what was wrong with what came back."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise CheckFailed(f"the values for the grader are missing ({exc.strerror})") from None
    try:
        data = _read_regular(dir_fd, "out.json", MESSAGE_MAX_BYTES)
        if data is not None:
            raise CheckFailed(quoted(message_of(data)))
        data = _read_regular(dir_fd, "out.npz", file_limit(expect))
        if data is None:
            raise CheckFailed("the probe handed back no values (did a cell of the notebook interfere?)")
        return arrays_of(data, expect)
    finally:
        os.close(dir_fd)


def _read_regular(dir_fd: int, name: str, max_bytes: int) -> bytes | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a link (ELOOP) or unreadable file
        raise CheckFailed(f"refused to read {name}: {exc.strerror} (not a plain file)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise CheckFailed(f"refused to read {name}: not a regular file")
        if st.st_size > max_bytes:
            raise CheckFailed(f"refused to read {name}: {st.st_size:,} bytes, over the {max_bytes:,} bytes the grader "
                              "reads here")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise CheckFailed(f"refused to read {name}: over the {max_bytes:,} bytes the grader reads here")
        return data
    finally:
        os.close(fd)


def arrays_of(data: bytes, expect: dict[str, Value]) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` bytes ``data``, each checked against ``expect`` before it is read."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))  # the zip's end record, read first:
    count = int.from_bytes(data[end + 10:end + 12], "little") if end >= 0 else 0  # its entries, before parsing
    if count > len(expect):
        raise CheckFailed(f"the values for the grader hold {count:,} members, not the {len(expect)} asked for")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception:  # noqa: BLE001 - whatever the kernel wrote, it is this check's failure
        raise CheckFailed("the values for the grader are not a readable .npz file") from None
    if len(members) > len(expect):
        raise CheckFailed(f"the values for the grader hold {len(members):,} members, not the {len(expect)} asked for")
    by_name = {}
    for info in members:
        name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if name not in expect:
            shown = escaped(name, 60)
            raise CheckFailed(say(f"你的 kernel 交回了評分程式沒有要的 `{shown}`(評分程式要的是 {', '.join(expect)})。",
                                  f"Your kernel handed back `{shown}`, which the grader did not ask for "
                                  f"(it asked for {', '.join(expect)})."))
        if name in by_name:
            raise CheckFailed(f"the value `{name}` came back twice")
        by_name[name] = info
    missing = [n for n in expect if n not in by_name]
    if missing:
        raise CheckFailed(_mismatch(missing[0], expect[missing[0]], "nothing"))
    return {name: _member(archive, by_name[name], name, expect[name]) for name in expect}


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, want: Value) -> np.ndarray:
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & ~0x808:  # only "data descriptor", "UTF-8"
        raise CheckFailed(f"refused the value `{name}`: compressed or encrypted (the grader reads only stored "
                          ".npy members)")
    try:
        with archive.open(info) as f:
            version = npy.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npy.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = npy.read_array_header_2_0(f)
            else:
                raise ValueError(f".npy version {version}")
            _check_header(name, want, shape, dtype)
            count = math.prod(shape)
            raw = f.read(count * dtype.itemsize + 1)
    except CheckFailed:
        raise
    except Exception:  # noqa: BLE001 - a header NumPy cannot parse, a zip it cannot open: this value's failure
        raise CheckFailed(f"the value `{name}` is not a readable .npy array") from None
    if len(raw) != count * dtype.itemsize:
        raise CheckFailed(f"the value `{name}` holds {len(raw):,} bytes of data, not the "
                          f"{count * dtype.itemsize:,} its header declares")
    array = np.frombuffer(raw, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")
    array = array.astype(_AS[want.kind])
    if want.kind == "float" and want.finite and not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)].ravel()[0]
        raise CheckFailed(_mismatch(name, want, f"{bad} (not a finite number)"))
    return array


def _check_header(name: str, want: Value, shape: tuple, dtype: np.dtype) -> None:
    """Refuse a dtype or shape other than ``want`` from the header alone (nothing read yet)."""
    plain = dtype.fields is None and dtype.subdtype is None and not dtype.hasobject
    if not plain or dtype.kind not in _KINDS[want.kind] or dtype.itemsize > 8:
        raise CheckFailed(_mismatch(name, want, f"{_dtype_name(dtype)} values of shape {tuple(shape)}"))
    fits = len(shape) == len(want.shape) and all(w is None or w == s for w, s in zip(want.shape, shape, strict=True))
    if not fits or min(shape, default=1) <= 0 or math.prod(shape) > want.max_elements():
        raise CheckFailed(_mismatch(name, want, f"shape {tuple(shape)}" + (" (empty)" if 0 in shape else "")))


def _dtype_name(dtype: np.dtype) -> str:
    return {"O": "object", "U": "text", "S": "bytes", "V": "raw", "c": "complex"}.get(dtype.kind, str(dtype))


def _mismatch(name: str, want: Value, got: str) -> str:
    name, asked = want.label or name, want.describe()
    return say(f"評分程式向你的 kernel 要 `{name}`({asked}),拿到的卻是:{got}。",
               f"The grader asked your kernel for `{name}` ({asked}) and got {got}.")


def message_of(data: bytes) -> str:
    """The message of an ``out.json`` (``{"error": text}``), cut to ``MESSAGE_MAX_CHARS`` and cleaned."""
    try:
        message = json.loads(data.decode("utf-8", errors="replace"))["error"]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        message = None
    if not isinstance(message, str):
        return "(an unreadable message instead of values)"
    return clean(message)


def clean(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """Kernel text, cut to ``limit`` characters first, then without terminal escapes or control characters."""
    cut = len(text) > limit
    text = _ESCAPES.sub("", text[:limit])
    text = "".join(ch for ch in text if ch.isprintable() or ch == "\n")
    return text + (" …" if cut else "")


#: The grader's line above text quoted from the kernel, and the mark before each quoted line.
QUOTE_HEADER = say("你的程式在評分程式呼叫時出錯,以下是你的 kernel 回報的訊息(不是評分結果):",
                   "Your code raised an error when the grader called it; your kernel reported (this is not "
                   "the grader's verdict):")
QUOTE_MARK = "  │ "


def escaped(text: str, limit: int) -> str:
    """Kernel text shown inside a grader's sentence: one line, non-ASCII and controls escaped."""
    return text[:limit].encode("ascii", "backslashreplace").decode("ascii").replace("\n", "\\n")[:4 * limit]


def quoted(text: str) -> str:
    """Text that came from the student's kernel, shown as the program's output, never in the grader's voice."""
    return QUOTE_HEADER + "\n" + "\n".join(QUOTE_MARK + line for line in (text.splitlines() or [""]))


def unquoted(message: str) -> str:
    """``message`` without the lines it quotes from a kernel: the grader's own words only."""
    if not message.startswith(QUOTE_HEADER):
        return message
    return "\n".join(line for line in message[len(QUOTE_HEADER):].splitlines() if not line.startswith(QUOTE_MARK))


def first_quoted_line(message: str) -> str | None:
    """The first line a message quotes from the kernel, without its mark; None when it quotes none."""
    if not message.startswith(QUOTE_HEADER):
        return None
    return next((line[len(QUOTE_MARK):] for line in message.splitlines() if line.startswith(QUOTE_MARK)), "")
