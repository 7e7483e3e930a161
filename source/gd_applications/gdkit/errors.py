"""TensorFlow's errors, told as their likely cause in this course's exercises (zh-TW and English).

``explain(exc)`` names the cause of a common error (``(id, zh, en)``, or None); for another
TensorFlow error ``where_to_look(exc)`` says where to look, naming no cause; ``advice(exc)`` is
whichever of the two applies, as printed lines. ``clean(text)``
drops framework internals from an error message (``{{function_node …}}``, ``[Op:…]``, tensor
reprs become their numbers). Used by ``gdkit.probe`` for the grader's messages and by the
visible checks.
"""

from __future__ import annotations

import re
import traceback

#: (id, pattern searched in "ExceptionType: message" of each exception of the chain, zh, en);
#: {0}, {1} in the texts take the pattern's groups.
TRANSLATIONS = (
    ("loss_outside_tape", r"No gradients provided for any variable",
     "沒有任何梯度:tape 記錄到的損失與這些變數無關——損失在 tf.GradientTape 的 `with` 區塊之外計算,"
     "或是從離開 TensorFlow 的值算出來的(NumPy、`.numpy()`、`model.predict`)。",
     "no gradients at all: the loss the tape recorded does not depend on the variables — it is computed "
     "outside the `with` block of tf.GradientTape, or from values taken out of TensorFlow (NumPy, "
     "`.numpy()`, `model.predict`)."),
    ("gradient_none", r"TypeError: .*NoneType|Attempt to convert a value \(None\)",
     "有梯度是 None:tape.gradient 對損失沒有用到的變數回傳 None——損失在 tape 之外計算,或某個變數(例如 b)沒有用在損失裡。",
     "a gradient is None: tape.gradient returns None for a variable the loss does not use — the loss is "
     "computed outside the tape, or a variable (e.g. b) is left out of the loss."),
    ("numpy_in_compiled_function", r"numpy\(\) is only available when eager execution|"
                                   r"'SymbolicTensor' object has no attribute 'numpy'",
     "在編譯過的函式(tf.function)裡,張量還沒有值,不能取 `.numpy()`(`model.predict` 也會取):"
     "評分程式會用 tf.function 編譯你的函式,請全程使用 TensorFlow 運算。",
     "a tensor's value (`.numpy()`, which `model.predict` calls too) was asked for inside a compiled function "
     "(tf.function), where tensors have no values yet: the grader compiles your function, so keep to "
     "TensorFlow operations throughout."),
    ("optimizer_given_tensors", r"object has no attribute '_unique_id'",
     "optimizer 在該拿到變數的地方拿到了張量:apply_gradients 要的是 (梯度, 變數) 的配對,順序是 zip(grads, variables)。",
     "the optimizer got tensors where it takes variables: apply_gradients takes (gradient, variable) pairs, "
     "in that order: zip(grads, variables)."),
    ("variable_in_compiled_function", r"tf\.function only supports singleton tf\.Variables",
     "在編譯過的函式(tf.function)裡建立了新的 tf.Variable:請直接更新傳進來的變數(例如用 assign_sub),不要另建新的。",
     "a new tf.Variable is created inside a compiled function (tf.function): update the variables you "
     "were given in place (with assign_sub, say) instead of making new ones."),
    ("matmul_given_a_vector", r"In\[0\] and In\[1\] has different ndims|In\[[01]\] ndims must be >= 2|"
                              r"Shape must be rank 2 but is rank 1 for '[^']*MatMul",
     "tf.matmul 只乘兩個矩陣,這裡有一邊是向量:矩陣乘向量請用 tf.linalg.matvec(A, v)。",
     "tf.matmul multiplies two matrices, and one side here is a vector: for a matrix times a vector use "
     "tf.linalg.matvec(A, v)."),
    ("incompatible_shapes", r"Incompatible shapes: (\[[\d, ]*\]) vs\. (\[[\d, ]*\])",
     "形狀不相容({0} 與 {1}):一個逐元素運算(+、−、*、tf.equal)兩邊的形狀對不起來。請看上面那一行兩邊各是什麼形狀:"
     "tf.argmax 或加總的 axis(axis=1 是每筆資料一個值)、該用 tf.matmul 的地方用了 *、或寫死的大小,都會改變形狀。",
     "incompatible shapes ({0} vs {1}): the two sides of an element-wise operation (+, −, *, tf.equal) do not "
     "fit. Look at the shape of each side on the line above: the axis of tf.argmax or of a reduction (axis=1 "
     "gives one value per example), a * where a matrix product (tf.matmul) is meant, or a size written into "
     "the code each change a shape."),
    ("matmul_shapes", r"Matrix size-incompatible|mismatch in contraction dim|Dimensions must be equal",
     "矩陣形狀接不起來:x (N, 784) 乘 W (784, 10);是否轉置了 W 或 x,或乘的順序反了?",
     "the matrix shapes do not fit: x (N, 784) times W (784, 10); is W or x transposed, or the order of "
     "the product reversed?"),
    ("labels_not_one_hot", r"logits and labels must be broadcastable: logits_size=(\[[\d,]*\]) labels_size=(\[[\d,]*\])",
     "softmax_cross_entropy_with_logits 的標籤要與 logits 同形狀 {0},拿到的卻是 {1}:整數標籤要先 tf.one_hot(y, 10)。",
     "softmax_cross_entropy_with_logits takes labels of the logits' shape, {0}, and got {1}: one-hot integer "
     "labels first (tf.one_hot(y, 10))."),
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
    ("booleans_not_numbers", r"Value for attr 'T' of bool is not in the list",
     "這個運算不收布林值(例如 tf.equal 的結果):先 tf.cast(…, tf.float32),再取平均或加總。",
     "this operation takes no booleans (such as the result of tf.equal): tf.cast them to tf.float32 first, "
     "then take the mean or the sum."),
    ("tensor_as_python_bool", r"as a Python `bool` is not allowed|Iterating over a symbolic `tf\.Tensor`",
     "在編譯過的函式(tf.function)裡,張量不能當成 Python 的真假值或拿來迭代(`if`、`and`、`for`):"
     "請用 TensorFlow 運算(tf.where、tf.reduce_any)或先比較純數字。",
     "inside a compiled function (tf.function) a tensor cannot serve as a Python truth value or be iterated "
     "(`if`, `and`, `for`): use TensorFlow operations (tf.where, tf.reduce_any) or compare plain numbers."),
    ("dtype_mismatch", r"expected to be a (\w+) tensor but is a (\w+) tensor|"
                       r"Tensor conversion requested dtype (\w+) for Tensor with dtype (\w+)|"
                       r"must have the same dtype, got tf\.(\w+) != tf\.(\w+)",
     "資料型別不合({0} 與 {1}):用 tf.cast 轉成相同型別,例如 tf.cast(y, tf.float32)。",
     "the data types do not match ({0} vs {1}): tf.cast one to the other, e.g. tf.cast(y, tf.float32)."),
)

#: Where to look, for a TensorFlow error no translation explains: raised while a function was being
#: compiled (tf.function), or while it ran. Not causes: they name no mistake.
WHERE_TO_LOOK = {
    "compiled": ("這個錯誤發生在 TensorFlow 編譯你的函式(tf.function,評分程式會這樣做)時:請看上面那一行;"
                 "在編譯的函式裡只用 TensorFlow 運算,不要用 `.numpy()`、NumPy,也不要建立新的 tf.Variable。",
                 "This error arose while TensorFlow compiled your function (tf.function, as the grader does): look "
                 "at the line above; inside a compiled function use TensorFlow operations only, with no "
                 "`.numpy()`, no NumPy and no new tf.Variable."),
    "tensorflow": ("TensorFlow 在上面那一行停下:請檢查那一行用到的張量的形狀與資料型別(print(x.shape, x.dtype) 會印出來)。",
                   "TensorFlow stopped at the line above: check the shapes and data types of the tensors on that "
                   "line (print(x.shape, x.dtype) shows them)."),
}

_INTERNALS = (
    (re.compile(r"\{\{function_node [^}]*\}\}\s*"), ""),
    (re.compile(r"\s*\[Op:[^\]]*\](\s*name:\s*\S*)?"), ""),
    (re.compile(r"<tf\.Tensor: shape=\([^)]*\), dtype=\w+, numpy=([^>]*)>"), r"\1"),
    (re.compile(r"<tf\.Variable '[^']*' shape=\([^)]*\) dtype=\w+, numpy=([^>]*)>"), r"\1"),
    (re.compile(r"\s*Node: '[^']*'.*"), ""),
    (re.compile(r" for '\{\{node [^']*'"), ""),
)


def clean(text: str) -> str:
    """``text`` without TensorFlow's internals; tensors shown as their numbers."""
    for pattern, repl in _INTERNALS:
        text = pattern.sub(repl, text)
    return text.strip()


def _chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and the exceptions it came from, outermost first."""
    seen, chain = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def explain(exc: BaseException) -> tuple[str, str, str] | None:
    """``(id, zh, en)`` of the likely cause of ``exc`` (or of an exception it came from), or None."""
    chain = [f"{type(e).__name__}: {e}" for e in _chain(exc)]
    for cause_id, pattern, zh, en in TRANSLATIONS:
        for text in chain:
            found = re.search(pattern, text)
            if found:
                groups = [g for g in found.groups() if g is not None]
                return cause_id, zh.format(*groups), en.format(*groups)
    return None


def _from_tensorflow(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    if module.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
        return True
    frames = traceback.extract_tb(exc.__traceback__)
    return any(re.search(r"[/\\](tensorflow|keras)[/\\]", f.filename) for f in frames) or "Tensor" in str(exc)


def where_to_look(exc: BaseException) -> tuple[str, str] | None:
    """``(zh, en)``: where to look for a TensorFlow error that ``explain`` does not know; None for
    errors that are not TensorFlow's (Python's own messages say where to look)."""
    chain = _chain(exc)
    if not any(_from_tensorflow(e) for e in chain):
        return None
    compiled = any(type(e).__name__ == "StagingError" or str(e).lstrip().startswith("in user code:")
                   or "SymbolicTensor" in str(e) for e in chain)
    return WHERE_TO_LOOK["compiled" if compiled else "tensorflow"]


def cause_text(zh: str, en: str) -> str:
    """A cause as the grader and the visible checks print it (the form the grader uses for every cause)."""
    return f"可能原因:{zh}\nLikely cause: {en}"


def advice(exc: BaseException) -> str:
    """The lines that follow a student's error: its likely cause, else where to look; '' for neither."""
    cause = explain(exc)
    if cause:
        return cause_text(cause[1], cause[2])
    look = where_to_look(exc)
    return f"請看:{look[0]}\nWhere to look: {look[1]}" if look else ""
