"""TensorFlow's errors, told as their likely cause in this course's exercises (zh-TW and English).

``explain(exc)`` names the cause of a common error (``(id, zh, en)``, or None); ``clean(text)``
drops framework internals from an error message (``{{function_node …}}``, ``[Op:…]``, tensor
reprs become their numbers). Used by ``gdkit.probe`` for the grader's messages and by the
visible checks.
"""

from __future__ import annotations

import re

#: (id, pattern searched in "ExceptionType: message" of each exception of the chain, zh, en);
#: {0}, {1} in the texts take the pattern's groups.
TRANSLATIONS = (
    ("loss_outside_tape", r"No gradients provided for any variable",
     "沒有任何梯度:損失是否在 tf.GradientTape 的 `with` 區塊之外計算?(或損失與這些變數無關)",
     "no gradients at all: is the loss computed outside the `with` block of tf.GradientTape "
     "(or does it not depend on the variables)?"),
    ("gradient_none", r"TypeError: .*NoneType|Attempt to convert a value \(None\)",
     "有梯度是 None:tape.gradient 對損失沒有用到的變數回傳 None——損失在 tape 之外計算,或某個變數(例如 b)沒有用在損失裡。",
     "a gradient is None: tape.gradient returns None for a variable the loss does not use — the loss is "
     "computed outside the tape, or a variable (e.g. b) is left out of the loss."),
    ("incompatible_shapes", r"Incompatible shapes: (\[[\d, ]*\]) vs\. (\[[\d, ]*\])",
     "形狀不相容({0} 與 {1}):一個運算兩邊的形狀不同;檢查 tf.argmax 或加總的 axis(axis=1 是每筆資料一個值),"
     "以及程式裡是否寫死了大小或數字(請用參數)。",
     "incompatible shapes ({0} vs {1}): the two sides of an operation differ; check the axis of tf.argmax or "
     "of a reduction (axis=1 gives one value per example), and that no size or number is written into the "
     "code (use the arguments)."),
    ("matmul_shapes", r"Matrix size-incompatible|mismatch in contraction dim|Dimensions must be equal",
     "矩陣形狀接不起來:x (N, 784) 乘 W (784, 10);是否轉置了 W 或 x,或乘的順序反了?",
     "the matrix shapes do not fit: x (N, 784) times W (784, 10); is W or x transposed, or the order of "
     "the product reversed?"),
    ("sparse_given_one_hot", r"logits and labels must have the same first dimension|Received a label value|"
                             r"labels must be 1-D|expected to have rank 1|"
                             r"labels\.shape\.rank` must equal|Rank of labels|must have rank \(ndim\) `target\.ndim - 1`",
     "sparse 交叉熵收到了 one-hot 標籤:one-hot (N, 10) 的標籤要用 categorical 交叉熵(或先 tf.argmax)。",
     "the sparse cross-entropy got one-hot labels: one-hot (N, 10) labels take the categorical "
     "cross-entropy (or tf.argmax them first)."),
    ("label_shapes", r"Shapes \((.*?)\) and \((.*?)\) are incompatible",
     "標籤與預測的形狀不同({0} 與 {1}):整數標籤要先 tf.one_hot(y, 10),或改用 sparse 交叉熵。",
     "labels and predictions have different shapes ({0} vs {1}): one-hot integer labels first "
     "(tf.one_hot(y, 10)) or use the sparse cross-entropy."),
    ("one_hot_needs_integers", r"Value for attr 'TI' of (float|double)",
     "tf.one_hot 需要整數標籤:先 tf.cast(y, tf.int32)。", "tf.one_hot needs integer labels: tf.cast(y, tf.int32) first."),
    ("dtype_mismatch", r"expected to be a (\w+) tensor but is a (\w+) tensor|"
                       r"Tensor conversion requested dtype (\w+) for Tensor with dtype (\w+)",
     "資料型別不合({0} 與 {1}):用 tf.cast 轉成相同型別,例如 tf.cast(y, tf.float32)。",
     "the data types do not match ({0} vs {1}): tf.cast one to the other, e.g. tf.cast(y, tf.float32)."),
)

_INTERNALS = (
    (re.compile(r"\{\{function_node [^}]*\}\}\s*"), ""),
    (re.compile(r"\s*\[Op:[^\]]*\](\s*name:\s*\S*)?"), ""),
    (re.compile(r"<tf\.Tensor: shape=\([^)]*\), dtype=\w+, numpy=([^>]*)>"), r"\1"),
    (re.compile(r"<tf\.Variable '[^']*' shape=\([^)]*\) dtype=\w+, numpy=([^>]*)>"), r"\1"),
    (re.compile(r"\s*Node: '[^']*'.*"), ""),
)


def clean(text: str) -> str:
    """``text`` without TensorFlow's internals; tensors shown as their numbers."""
    for pattern, repl in _INTERNALS:
        text = pattern.sub(repl, text)
    return text.strip()


def explain(exc: BaseException) -> tuple[str, str, str] | None:
    """``(id, zh, en)`` of the likely cause of ``exc`` (or of an exception it came from), or None."""
    seen, chain = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    for cause_id, pattern, zh, en in TRANSLATIONS:
        for text in chain:
            found = re.search(pattern, text)
            if found:
                groups = [g for g in found.groups() if g is not None]
                return cause_id, zh.format(*groups), en.format(*groups)
    return None


def cause_text(zh: str, en: str) -> str:
    """A cause as the grader and the visible checks print it (the form the grader uses for every cause)."""
    return f"可能原因:{zh}\nLikely cause: {en}"
