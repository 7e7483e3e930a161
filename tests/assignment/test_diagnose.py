"""Naming the cause of a wrong value (autograde/assignment/diagnose.py, gdkit/errors.py), without notebooks."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import autograde.assignment.registry  # noqa: F401 - declares every exercise's causes
from autograde.assignment import diagnose
from gdkit import errors
from tests.mistakes import CJK, mixed_lines


def test_every_declared_cause_is_found_again_in_a_message_that_tells_it():
    assert len(diagnose.CAUSES) >= 25
    for cause in diagnose._DECLARED:
        message = f"On a batch the loss should be 2.3, got 4.6.\n{cause.text}"
        assert diagnose.find(message).id == cause.id


def test_a_value_matches_the_mistake_that_would_have_produced_it_and_no_other():
    a, b = diagnose.Cause("test_a", "甲", "a"), diagnose.Cause("test_b", "乙", "b")
    assert diagnose.which(2.0, [(a, 1.0), (b, 2.0000001)]) is b
    assert diagnose.which(3.0, [(a, 1.0), (b, 2.0)]) is None
    assert diagnose.which(np.zeros(3), [(a, np.zeros(2)), (b, np.full(3, np.nan))]) is None, "shape or NaN"


def test_the_cause_that_explains_every_case_wins_over_one_that_fits_only_some():
    mean, half = diagnose.Cause("test_mean", "平均", "mean"), diagnose.Cause("test_half", "一半", "half")
    # on a 2-vector a mean and half the sum agree; on a 3-vector only one of them fits
    cases = [(2.0, [(mean, 2.0), (half, 2.0)]), (3.0, [(mean, 2.0), (half, 3.0)])]
    assert diagnose.consistent(cases) is half


def test_tensorflow_errors_are_told_by_cause_without_framework_internals():
    exc = ValueError("{{function_node __wrapped__Equal_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
                     "Incompatible shapes: [10] vs. [4] [Op:Equal] name: ")
    cause_id, zh, en = errors.explain(exc)
    assert cause_id == "incompatible_shapes" and "[10] vs [4]" in en and "axis" in en and "axis" in zh
    assert errors.clean(str(exc)) == "Incompatible shapes: [10] vs. [4]"
    assert errors.clean("got <tf.Tensor: shape=(), dtype=float32, numpy=34946.1>") == "got 34946.1"
    assert errors.explain(TypeError("unsupported operand type(s) for *: 'float' and 'NoneType'"))[0] == "gradient_none"
    assert errors.explain(KeyError("x")) is None


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - the exception with its traceback
        return caught


def _tensorflow_error(message: str) -> BaseException:
    """An error of TensorFlow's own type (errors_impl), as a student's code raises it."""
    kind = type("InvalidArgumentError", (Exception,), {"__module__": "tensorflow.python.framework.errors_impl"})
    return _raised(kind(message))


def test_the_tensorflow_errors_of_typical_mistakes_are_told_by_cause():
    told = {
        "In[0] and In[1] has different ndims: [2,2] vs. [2] [Op:MatMul] name: ": "matmul_given_a_vector",
        "In[1] ndims must be >= 2: 1 [Op:MatMul] name: ": "matmul_given_a_vector",
        "Shape must be rank 2 but is rank 1 for '{{node while/MatMul}} = MatMul[T=DT_FLOAT](a, b)' with input "
        "shapes: [2,2], [2].": "matmul_given_a_vector",
        "'SymbolicTensor' object has no attribute '_unique_id'": "optimizer_given_tensors",
        "numpy() is only available when eager execution is enabled.": "numpy_in_compiled_function",
        "'SymbolicTensor' object has no attribute 'numpy'": "numpy_in_compiled_function",
        "Value for attr 'T' of bool is not in the list of allowed values: float, double": "booleans_not_numbers",
        "Value for attr 'TI' of float is not in the list of allowed values: uint8, int8": "one_hot_needs_integers",
        "logits and labels must be broadcastable: logits_size=[2,10] labels_size=[1,2]": "labels_not_one_hot",
        "tf.function only supports singleton tf.Variables created on the first call.": "variable_in_compiled_function",
    }
    for message, cause_id in told.items():
        assert errors.explain(_tensorflow_error(message))[0] == cause_id, message
    assert "tf.linalg.matvec(A, v)" in errors.explain(_tensorflow_error(next(iter(told))))[2]
    assert errors.clean("Shape must be rank 2 but is rank 1 for '{{node MatMul}} = MatMul[T=DT_FLOAT](a, b)' with "
                        "input shapes: [2,2], [2].") == "Shape must be rank 2 but is rank 1 with input shapes: [2,2], [2]."


def test_an_unknown_tensorflow_error_says_where_to_look_and_names_no_cause():
    plain = errors.advice(_tensorflow_error("Something TensorFlow never said before"))
    assert plain.startswith("請看:TensorFlow") and "\nWhere to look: TensorFlow stopped at the line above" in plain
    compiled = errors.advice(_raised(AttributeError("in user code:\n\n    File \"x.py\", line 3, in f\n\n"
                                                    "    AttributeError: 'SymbolicTensor' object has no attribute 'x'")))
    assert "while TensorFlow compiled your function" in compiled
    assert "Likely cause" not in plain + compiled and diagnose.find(plain + compiled) is None
    assert errors.advice(_raised(KeyError("x"))) == "", "Python's own errors say where they are"


def test_an_empty_stub_is_not_written_yet_but_tensorflows_not_implemented_error_is_told_as_it_is():
    from gdkit.checks._common import CheckFailed, call_student

    def stub():
        raise NotImplementedError()

    def numpy_in_graph():
        raise NotImplementedError("numpy() is only available when eager execution is enabled.")

    def wrapped_stub():  # tf.function re-raises a stub's error with the frames it traced
        try:
            stub()
        except NotImplementedError as exc:
            raise NotImplementedError("in user code:\n\n    NotImplementedError: ") from exc

    told = {}
    for fn in (stub, numpy_in_graph, wrapped_stub):
        with pytest.raises(CheckFailed) as failed:
            call_student(fn, name=fn.__name__)
        told[fn.__name__] = str(failed.value)
    assert "is not written yet" in told["stub"] and "is not written yet" in told["wrapped_stub"]
    assert "not written yet" not in told["numpy_in_graph"] and "inside a compiled function" in told["numpy_in_graph"]


def test_a_check_failed_inside_a_compiled_call_is_kept_as_it_is():
    from gdkit.checks._common import CheckFailed, call_student

    def traced():  # what tf.function makes of a check's failure raised while it traced
        try:
            raise CheckFailed("`loss` 不是函式。\n`loss` is not a function.")
        except CheckFailed as exc:
            raise RuntimeError("in user code: … CheckFailed") from exc

    with pytest.raises(CheckFailed) as failed:
        call_student(traced, name="step")
    assert str(failed.value) == "`loss` 不是函式。\n`loss` is not a function."


def _message_texts():
    """Every string literal of the messages' modules (f-strings with their values as 0), but docstrings."""
    root = Path(__file__).resolve().parents[2]
    files = [*sorted((root / "source" / "gd_applications" / "gdkit").rglob("*.py")),
             *sorted((root / "autograde" / "exercises").rglob("*.py")), root / "autograde" / "assignment" / "diagnose.py"]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
        skip |= {id(node.body[0].value) for node in ast.walk(tree)
                 if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef) and node.body
                 and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.JoinedStr):
                yield path, node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "0" for v in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield path, node.lineno, node.value


def test_every_line_a_message_module_writes_is_in_one_language():
    texts = list(_message_texts())
    assert sum(bool(CJK.search(text)) for _, _, text in texts) >= 150
    mixed = [f"{path.name}:{line}: {bad}" for path, line, text in texts for bad in mixed_lines(text)]
    assert not mixed, "\n".join(mixed)
    assert mixed_lines("`sgd_step` 出錯 raised AttributeError") and mixed_lines("✔ 通過 passed: the loss")
    assert not mixed_lines("請用 tf.linalg.matvec(A, v),不要用 `tf.matmul`;one-hot 標籤。")
