"""What a kernel's iopub messages can make the grader keep: bounded, whatever their kind.

Messages are fed to a grading session as nbclient hands them over (``process_message``,
``on_cell_executed``); one test floods a real kernel's stdin channel.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from autograde import limits
from autograde.grading.session import GradingSession


@pytest.fixture
def session():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = 2")])
    s = GradingSession(nb)
    s.reset_execution_trackers()  # as nbclient does when it starts a notebook
    s.reset_output_limits()
    s.clear_before_next_output = False  # as nbclient sets it before each cell
    return s


def message(kind: str, content: dict, parent: str = "request-1") -> dict:
    return {"msg_type": kind, "header": {"msg_type": kind, "msg_id": "m"}, "parent_header": {"msg_id": parent},
            "metadata": {}, "content": content}


def kept_bytes(session) -> int:
    return sum(len(json.dumps(c.outputs)) for c in session.nb.cells)


def test_a_flood_of_errors_in_one_cell_keeps_its_first_error_and_no_more_than_the_cells_output_limit(session):
    cell = session.nb.cells[0]
    for i in range(300):
        session.process_message(message("error", {"ename": f"E{i}", "evalue": "x" * 50_000, "traceback": []}),
                                cell, 0)
    assert cell.outputs[0]["ename"] == "E0"
    assert kept_bytes(session) < 2 * limits.CELL_OUTPUT_BYTES


def test_each_cells_first_error_is_kept_but_all_of_them_stay_within_the_notebooks_output_limit(session):
    cell = session.nb.cells[0]
    for i in range(3000):  # a notebook of 3000 cells, each raising a 200 kB error of its own
        session.process_message(message("error", {"ename": "E", "evalue": "x" * 200_000, "traceback": []},
                                        parent=f"cell-{i}"), cell, 0)
    assert len(cell.outputs) == 3000
    assert kept_bytes(session) < limits.NOTEBOOK_OUTPUT_BYTES + 3000 * 400


def test_an_error_in_a_cells_reply_is_kept_bounded_and_counted(session):
    cell = session.nb.cells[0]
    reply = {"content": {"status": "error", "ename": "E", "evalue": "v", "traceback": ["t" * 7_000_000]}}
    session.on_cell_executed(cell=cell, cell_index=0, execute_reply=reply)
    assert len(json.dumps(cell.outputs)) < 2 * limits.CELL_OUTPUT_BYTES
    assert session._output_total > 0


def test_an_update_of_a_display_id_rewrites_no_output(session):
    cell = session.nb.cells[0]
    for _ in range(200):
        session.process_message(message("display_data", {"data": {"text/plain": ""}, "metadata": {},
                                                          "transient": {"display_id": "d"}}), cell, 0)
    before = kept_bytes(session)
    session.process_message(message("update_display_data", {"data": {"text/plain": "y" * 1_000_000},
                                                            "metadata": {}, "transient": {"display_id": "d"}}),
                            cell, 0)
    assert kept_bytes(session) == before


def test_widget_messages_are_ignored_however_large_or_malformed(session):
    cell = session.nb.cells[0]
    buffers = [b"z" * 2**20] * 20
    for kind in ("comm_open", "comm_msg"):
        msg = message(kind, {"comm_id": "c", "target_name": "jupyter.widget",
                             "data": {"state": {}, "buffer_paths": [["b", str(i)] for i in range(20)]}})
        msg["buffers"] = buffers
        session.process_message(msg, cell, 0)  # a widget handler would raise KeyError '_model_module'
    assert session.widget_state == {} and session.widget_buffers == {} and cell.outputs == []


def _rss_mb() -> float:
    """This process's peak resident memory so far, MiB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


FLOOD_STDIN = """
k = get_ipython().kernel
for _ in range(120):
    k.session.send(k.stdin_socket, "input_request", {"prompt": "x" * 2**20, "password": False},
                   parent=k.get_parent(), ident=k._parent_ident["shell"])
import time; time.sleep(1)
"""


def grader_growth_mb(tmp_path, code: str) -> tuple[float, nbformat.NotebookNode]:
    """How much this process's peak memory grew while a real grading kernel ran ``code`` (after a
    first cell), MiB; and the notebook as graded."""
    from autograde.grading.runner import GradingClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(code)])
    client = GradingClient(timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    seen = {}
    client.on_cell_start = lambda cell, cell_index: seen.setdefault("rss", _rss_mb()) if cell_index == 1 else None
    client.on_cell_executed = lambda **kw: seen.setdefault("after", _rss_mb()) if kw["cell_index"] == 1 else None
    client.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    return seen["after"] - seen["rss"], nb


def test_what_a_kernel_sends_on_the_stdin_channel_is_not_kept_by_the_grader(tmp_path):
    grew, nb = grader_growth_mb(tmp_path, FLOOD_STDIN)
    assert [o for o in nb.cells[1].outputs if o.get("output_type") == "error"] == []
    assert grew < 40, f"the grader grew by {grew:.0f} MiB"


class _Km:
    """What ``bound_messages`` bounds: a kernel manager's zmq context and session."""

    def __init__(self):
        import zmq
        from jupyter_client.session import Session

        self.context, self.session = zmq.Context(), Session(key=b"grading")


def _sent(km, msg_type: str, content: dict, buffers=()) -> list[bytes]:
    msg = km.session.msg(msg_type, content, parent={"msg_id": "request-1"})
    return km.session.serialize(msg) + list(buffers)


def test_a_message_too_large_to_decode_becomes_one_line_and_its_header_is_read():
    from autograde.kernel.manager import MESSAGE_MAX_ITEMS, bound_messages

    km = _Km()
    bound_messages(km)
    heavy = _sent(km, "execute_input", {"code": "", "execution_count": [[]] * (MESSAGE_MAX_ITEMS + 1)})
    got = km.session.deserialize(heavy[1:])  # as channels pass it, past the signature's frame delimiter
    assert got["msg_type"] == "stream" and "output limit" in got["content"]["text"]
    assert got["parent_header"]["msg_id"] == "request-1"


def test_a_replayed_message_is_dropped_not_raised():
    from autograde.kernel.manager import bound_messages

    km = _Km()
    bound_messages(km)
    frames = _sent(km, "stream", {"name": "stdout", "text": "hi"})
    assert km.session.deserialize(frames[1:])["content"]["text"] == "hi"
    assert km.session.deserialize(frames[1:])["parent_header"] == {}


def test_a_message_with_a_huge_header_is_dropped_and_buffers_are_never_kept():
    import zmq

    from autograde.kernel.manager import MESSAGE_QUEUE, bound_messages

    km = _Km()
    bound_messages(km)
    assert km.context.getsockopt(zmq.RCVHWM) == MESSAGE_QUEUE  # what waits unread is bounded too
    huge = _sent(km, "x" * 100_000, {"name": "stdout", "text": "hi"})
    assert km.session.deserialize(huge[1:])["parent_header"] == {}
    plain = _sent(km, "stream", {"name": "stdout", "text": "hi"}, buffers=[b"b" * 1000] * 5)
    got = km.session.deserialize(plain[1:])
    assert got["content"] == {"name": "stdout", "text": "hi"} and got["buffers"] == []


FLOOD_IOPUB = """
k = get_ipython().kernel
text = "x" * 1_900_000
for _ in range(400):  # each signed afresh: a replayed signature is refused
    msg = k.session.msg("display_data", {"data": {"text/plain": text}, "metadata": {}}, parent=k.get_parent())
    k.iopub_socket.send_multipart([b"display_data"] + k.session.serialize(msg))
import time; time.sleep(1)
"""


def test_a_kernel_flooding_its_output_channel_does_not_grow_the_grader(tmp_path):
    grew, _ = grader_growth_mb(tmp_path, FLOOD_IOPUB)
    assert grew < 300, f"the grader grew by {grew:.0f} MiB"
