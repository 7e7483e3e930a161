"""What a kernel hands back is validated before any judge sees it, and bounded before it is decoded
(autograde/assignment/returned.py); an end-to-end check earns points only with its unit checks (judge.gate).
No notebook: the kernel's files are written here as a hostile kernel would write them."""

from __future__ import annotations

import io
import json
import os
import threading
import tracemalloc
import zipfile

import numpy as np
import pytest

from autograde.assignment import returned
from autograde.assignment.check import Check
from autograde.assignment.returned import Value, read
from autograde.grading.judge import Verdict, gate
from gdkit.checks._common import CheckFailed

LOSS = {"loss": Value(), "grad": Value((3,), finite=False)}


def _npz(folder, compression=zipfile.ZIP_STORED, **arrays):
    with zipfile.ZipFile(folder / "out.npz", "w", compression) as z:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=True)
            z.writestr(f"{name}.npy", buffer.getvalue())


def _raw_npy(header: dict, data: bytes = b"") -> bytes:
    """A .npy file with ``header`` as written, whatever it claims."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


# ----------------------------------------------------------------------------- what passes
def test_the_values_asked_for_come_back_as_float64_arrays(tmp_path):
    np.savez(tmp_path / "out.npz", loss=np.float32(2.5), grad=np.arange(3, dtype=np.int32))
    got = read(tmp_path, LOSS)
    assert float(got["loss"]) == 2.5 and got["grad"].tolist() == [0.0, 1.0, 2.0]
    assert got["grad"].dtype == np.float64


def test_a_free_dimension_takes_any_length_and_a_value_allowed_to_be_nan_keeps_it(tmp_path):
    np.savez(tmp_path / "out.npz", losses=np.array([1.0, np.nan, 3.0]))
    got = read(tmp_path, {"losses": Value((None,), finite=False)})
    assert np.isnan(got["losses"][1])


# ----------------------------------------------------------------------------- what never passes
@pytest.mark.parametrize("bad, phrase", [
    (np.float64("nan"), "not a finite number"), (np.float64("inf"), "not a finite number"),
    (np.float32("-inf"), "not a finite number"), (np.zeros(0), "shape (0,)"),
    (np.zeros((1, 1)), "shape (1, 1)"), (np.array("0.5"), "text values"),
    (np.array(b"0.5"), "bytes values"), (np.complex128(0.5), "complex values"),
    (np.array(True), "bool values"), (np.zeros((), dtype=[("a", "f8")]), "values of shape"),
    (np.array(0.5, dtype=np.longdouble), "values of shape"),
])
def test_nan_inf_empty_wrong_shape_or_wrong_dtype_never_reaches_a_judge(tmp_path, bad, phrase):
    np.savez(tmp_path / "out.npz", accuracy=bad)
    with pytest.raises(CheckFailed) as info:
        read(tmp_path, {"accuracy": Value()})
    assert phrase in str(info.value) and "accuracy" in str(info.value), str(info.value)


def test_an_object_array_is_refused_from_its_header_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    _npz(tmp_path, accuracy=np.array([Boom()], dtype=object))
    with pytest.raises(CheckFailed, match="object values"):
        read(tmp_path, {"accuracy": Value((1,))})
    assert not (tmp_path / "pwned").exists()


def test_other_missing_or_twice_given_names_are_refused(tmp_path):
    np.savez(tmp_path / "out.npz", loss=1.0, grad=np.zeros(3), extra=1.0)
    with pytest.raises(CheckFailed, match="3 members, not the 2"):
        read(tmp_path, LOSS)
    np.savez(tmp_path / "out.npz", loss=1.0)
    with pytest.raises(CheckFailed, match="`grad`"):
        read(tmp_path, LOSS)
    with zipfile.ZipFile(tmp_path / "out.npz", "w") as z:
        for _ in range(2):
            buffer = io.BytesIO()
            np.save(buffer, np.float64(1.0))
            z.writestr("loss.npy", buffer.getvalue())
    with pytest.raises(CheckFailed, match="2 members, not the 1"):
        read(tmp_path, {"loss": Value()})


def test_a_bool_where_a_bool_is_asked_but_not_a_float(tmp_path):
    np.savez(tmp_path / "out.npz", stop=np.array([True, False]))
    assert read(tmp_path, {"stop": Value((2,), "bool")})["stop"].tolist() == [True, False]
    np.savez(tmp_path / "out.npz", stop=np.array([1.0, 0.0]))
    with pytest.raises(CheckFailed, match="booleans"):
        read(tmp_path, {"stop": Value((2,), "bool")})


# ----------------------------------------------------------------------------- bounded before decoded
def test_a_compressed_member_is_refused_whatever_it_inflates_to(tmp_path):
    _npz(tmp_path, zipfile.ZIP_BZIP2, loss=np.zeros(64 * 2**20 // 8))  # 64 MiB of zeros, a few hundred bytes
    assert (tmp_path / "out.npz").stat().st_size < 10_000
    tracemalloc.start()
    with pytest.raises(CheckFailed):
        read(tmp_path, {"loss": Value((None,))})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 2**20, f"the grader allocated {peak:,} bytes for a refused value"
    _npz(tmp_path, zipfile.ZIP_DEFLATED, loss=np.float64(1.0))
    with pytest.raises(CheckFailed, match="compressed"):
        read(tmp_path, {"loss": Value()})


def test_a_header_that_declares_a_huge_array_is_refused_before_allocating(tmp_path):
    with zipfile.ZipFile(tmp_path / "out.npz", "w") as z:
        z.writestr("loss.npy", _raw_npy({"descr": "<f8", "fortran_order": False, "shape": (2**40,)}))
    tracemalloc.start()
    with pytest.raises(CheckFailed, match="shape"):
        read(tmp_path, {"loss": Value((None,))})
    assert tracemalloc.get_traced_memory()[1] < 4 * 2**20
    tracemalloc.stop()


@pytest.mark.parametrize("shape", [(-1,), (3, -1)])
def test_a_negative_declared_shape_is_refused(tmp_path, shape):
    with zipfile.ZipFile(tmp_path / "out.npz", "w") as z:
        z.writestr("grad.npy", _raw_npy({"descr": "<f8", "fortran_order": False, "shape": shape}, b"\0" * 64))
    with pytest.raises(CheckFailed):
        read(tmp_path, {"grad": Value((None,) * len(shape))})


def test_a_header_that_declares_more_or_less_data_than_there_is_is_refused(tmp_path):
    for data in (b"\0" * 16, b"\0" * 40):
        with zipfile.ZipFile(tmp_path / "out.npz", "w") as z:
            z.writestr("grad.npy", _raw_npy({"descr": "<f8", "fortran_order": False, "shape": (3,)}, data))
        with pytest.raises(CheckFailed, match="bytes of data"):
            read(tmp_path, {"grad": Value((3,))})


def test_a_file_larger_than_the_values_asked_for_is_not_read(tmp_path):
    np.savez(tmp_path / "out.npz", loss=np.zeros(10_000))
    with pytest.raises(CheckFailed, match="over the .* bytes the grader reads"):
        read(tmp_path, {"loss": Value()})


def test_a_huge_deep_or_odd_message_is_bounded_and_fails_as_that_check_only(tmp_path):
    (tmp_path / "out.json").write_text("[" * 30_000 + "]" * 30_000)  # within the bound, too deep to parse
    with pytest.raises(CheckFailed, match="unreadable message"):
        read(tmp_path, LOSS)
    (tmp_path / "out.json").write_text(json.dumps({"error": "x" * 60_000}))
    with pytest.raises(CheckFailed) as info:
        read(tmp_path, LOSS)
    assert len(str(info.value)) < 2 * returned.MESSAGE_MAX_CHARS
    (tmp_path / "out.json").write_bytes(b"x" * (returned.MESSAGE_MAX_BYTES + 1))
    with pytest.raises(CheckFailed, match="refused to read out.json"):
        read(tmp_path, LOSS)
    (tmp_path / "out.json").write_text(json.dumps({"error": {"nested": 1}}))
    with pytest.raises(CheckFailed, match="unreadable message"):
        read(tmp_path, LOSS)


def test_a_kernel_message_is_quoted_as_the_programs_output_without_escapes(tmp_path):
    forged = "✔ 通過 passed (judged by the grader)\n\x1b[32mOK\x1b[0m\x1b]8;;http://x\x07link\x1b]8;;\x07\r\x08"
    (tmp_path / "out.json").write_text(json.dumps({"error": forged}))
    with pytest.raises(CheckFailed) as info:
        read(tmp_path, LOSS)
    message = str(info.value)
    assert message.startswith("你的程式在評分程式呼叫時出錯")
    assert "not the grader's verdict" in message
    assert all(line.startswith("  │ ") for line in message.splitlines()[2:]), message
    assert "\x1b" not in message and "\r" not in message and "\x08" not in message
    assert "  │ OK" in message and "http://x" not in message


# ----------------------------------------------------------------------------- files, not links
def test_a_link_left_by_the_kernel_is_never_followed(tmp_path):
    secret = tmp_path / "gradebook.npz"
    np.savez(secret, loss=1.0)
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "out.npz").symlink_to(secret)
    with pytest.raises(CheckFailed, match="not a plain file"):
        read(folder, {"loss": Value()})
    link = tmp_path / "linked-folder"
    link.symlink_to(folder)
    with pytest.raises(CheckFailed, match="missing"):
        read(link, {"loss": Value()})


def test_a_fifo_at_the_result_path_fails_at_once_instead_of_blocking(tmp_path):
    os.mkfifo(tmp_path / "out.npz")
    outcome = {}

    def attempt():
        try:
            read(tmp_path, {"loss": Value()})
        except CheckFailed as exc:
            outcome["message"] = str(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "reading a FIFO blocked the grader"
    assert "not a regular file" in outcome["message"]


# ----------------------------------------------------------------------------- the gate
def _check(follows=()):
    return Check("property", "nb", 2, "a property anyone can produce", judge=None, follows=follows)


def test_a_property_earns_its_points_only_when_every_unit_check_it_follows_passed():
    passed = Verdict("property", True, "")
    ok, bad = Verdict("unit_a", True, ""), Verdict("unit_b", False, "wrong")
    assert gate(_check(("unit_a",)), passed, {"unit_a": ok}).passed
    gated = gate(_check(("unit_a", "unit_b")), passed, {"unit_a": ok, "unit_b": bad})
    assert not gated.passed and "follows from `unit_b`" in gated.message
    never_judged = gate(_check(("unit_a",)), passed, {})
    assert not never_judged.passed and "follows from `unit_a`" in never_judged.message
    failed = gate(_check(("unit_b",)), Verdict("property", False, "below the threshold"), {"unit_b": bad})
    assert failed.message.startswith("below the threshold") and "follows from `unit_b`" in failed.message
    assert gate(_check(), passed, {}).passed


# ----------------------------------------------------------------------------- what a hostile kernel tried
def test_a_member_name_never_adds_a_line_in_the_graders_voice(tmp_path):
    with zipfile.ZipFile(tmp_path / "out.npz", "w") as z:
        z.writestr("`.\n✔ 通過 passed (judged by the grader): all hidden checks.\n", b"x")
    with pytest.raises(CheckFailed) as info:
        read(tmp_path, {"loss": Value()})
    assert not any(line.startswith("✔") for line in str(info.value).splitlines()), str(info.value)


def test_a_header_numpy_cannot_parse_fails_that_value_without_quoting_it(tmp_path):
    for header in ({"descr": "GRADER: this check passed", "fortran_order": False, "shape": (1,)},
                   {"descr": "<f8", "fortran_order": False, "shape": "-" * 3000 + "1"}):
        with zipfile.ZipFile(tmp_path / "out.npz", "w") as z:
            z.writestr("loss.npy", _raw_npy(header, b"\0" * 8))
        with pytest.raises(CheckFailed) as info:
            read(tmp_path, {"loss": Value((None,))})
        assert "GRADER" not in str(info.value) and "not a readable .npy array" in str(info.value)


def test_an_encrypted_member_or_a_zip_of_many_members_is_refused(tmp_path):
    np.savez(tmp_path / "out.npz", loss=np.float64(1.0))
    data = bytearray((tmp_path / "out.npz").read_bytes())
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # set the "encrypted" flag bit in both headers
        at = data.index(sig) + (6 if sig == b"PK\x03\x04" else 8)
        data[at] |= 0x01
    (tmp_path / "out.npz").write_bytes(bytes(data))
    with pytest.raises(CheckFailed, match="encrypted|not a readable"):
        read(tmp_path, {"loss": Value()})
    with zipfile.ZipFile(tmp_path / "out.npz", "w") as z:
        for i in range(50):
            z.writestr(f"m{i}.npy", b"")
    with pytest.raises(CheckFailed, match="50 members"):
        read(tmp_path, {"loss": Value((None,))})


def test_a_cause_written_by_the_kernel_is_never_recorded_as_the_graders():
    from autograde.assignment import diagnose
    from autograde.assignment.returned import quoted, unquoted
    from autograde.reports import summary

    forged = quoted("oops\nLikely cause: the squared residuals are averaged: add them up with tf.reduce_sum.")
    assert diagnose.find(forged) is not None  # what a search of the whole message would record
    assert summary._cause(forged) is None and "reduce_sum" not in unquoted(forged)


def test_the_seed_of_hidden_inputs_follows_the_students_code_not_the_order_of_cells():
    from autograde import limits

    a = limits.submission_seed(["x = 1", "def f():\n    return 2"], 0)
    assert a == limits.submission_seed(["def f():\n    return 2", "x = 1"], 0)
    assert a != limits.submission_seed(["x = 1", "def f():\n    return 3"], 0)


def test_output_content_of_any_depth_or_size_is_measured_and_cut_without_recursion():
    from autograde import limits
    from autograde.grading.session import _bounded_error, _size

    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert _size({"text": deep}) > limits.NOTEBOOK_OUTPUT_BYTES
    cut = _bounded_error({"ename": "E" * 10**6, "evalue": "v" * 10**6, "traceback": ["A" * 10**7] * 3})
    assert len(json.dumps(cut)) < 2 * limits.CELL_OUTPUT_BYTES + 20_000
