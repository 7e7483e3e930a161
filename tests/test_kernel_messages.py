"""What a kernel's iopub messages can make the grader keep: bounded, whatever their kind.

Messages are fed to a grading session as nbclient hands them over (``process_message``,
``on_cell_executed``); one test floods a real kernel's stdin channel.
"""

from __future__ import annotations

import json
import os

import nbformat
import pytest

from autograde import limits
from autograde.session import GradingSession


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
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


FLOOD_STDIN = """
k = get_ipython().kernel
for _ in range(120):
    k.session.send(k.stdin_socket, "input_request", {"prompt": "x" * 2**20, "password": False},
                   parent=k.get_parent(), ident=k._parent_ident["shell"])
import time; time.sleep(1)
"""


def test_what_a_kernel_sends_on_the_stdin_channel_is_not_kept_by_the_grader(tmp_path):
    from autograde.runner import GradingClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(FLOOD_STDIN)])
    client = GradingClient(timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    before = {}
    client.on_cell_start = lambda cell, cell_index: before.setdefault("rss", _rss_mb()) if cell_index == 1 else None
    client.on_cell_executed = lambda **kw: before.setdefault("after", _rss_mb()) if kw["cell_index"] == 1 else None
    client.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert [o for o in nb.cells[1].outputs if o.get("output_type") == "error"] == []
    assert before["after"] - before["rss"] < 40, f"the grader grew by {before['after'] - before['rss']:.0f} MiB"
