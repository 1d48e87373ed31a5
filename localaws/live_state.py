"""Reading moto's resources on one thread while another thread changes them.

moto keeps an account's resources in plain dicts, changed on the thread of the call that changes them: a
CloudFormation stack creates every resource on its CreateStack's thread. The local AWS also reads them on
threads of its own: the hosts' network wiring, planned again after any account's change (another account's
stack may be halfway through its resources then), an instance's boot, a rotation. A read that iterates a
dict while another thread adds to it fails with "dictionary changed size during iteration": a failure of
the local AWS's own making, which AWS never has, and which would show as the workshop's (a resource that
failed to create). Such a read is made again. Only reads are: they change nothing, and the change that got
in the way is followed by its own refresh of what was read.
"""
from __future__ import annotations

import re
from typing import Callable, TypeVar

from tenacity import retry, retry_if_exception, stop_after_attempt, wait_fixed

ATTEMPTS = 20  # a read loses the race once in thousands; twenty in a row do not happen
_CHANGED = re.compile(r"(changed|mutated)( size)? during iteration")  # CPython's words, for dicts, sets, deques
Read = TypeVar("Read", bound=Callable[..., object])


def changed_meanwhile(error: BaseException) -> bool:
    """The error a read gets when another thread changed what it was iterating."""
    return isinstance(error, RuntimeError) and bool(_CHANGED.search(str(error)))


def read_again_if_changed(read: Read) -> Read:
    """`read`, made again when another thread changed what it iterated (after a millisecond: that thread's turn)."""
    again = retry(retry=retry_if_exception(changed_meanwhile), stop=stop_after_attempt(ATTEMPTS),
                  wait=wait_fixed(0.001), reraise=True)
    return again(read)  # type: ignore[return-value]
