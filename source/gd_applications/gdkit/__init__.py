"""Support code for the gradient-descent assignment / 梯度下降作業的輔助程式.

Shipped with the assignment: the visible checks, one tolerance helper, seeding, and
the MNIST loader. Nothing here contains an answer.
"""

from gdkit.seeding import quiet_tensorflow, seed_everything
from gdkit.tolerance import assert_close, rel_error

__all__ = ["assert_close", "quiet_tensorflow", "rel_error", "seed_everything"]
