"""An image's Platform is `windows` for a Windows image and absent otherwise.

AWS (EC2 API reference, Image: "platform — This value is set to windows for Windows AMIs;
otherwise, it is blank"; the operating system is in PlatformDetails).
moto 5.2.5's image catalogue gives its Linux images platform "Linux/UNIX", which AWS never
answers there.
"""
from __future__ import annotations

from typing import Any

from moto.ec2.models.amis import Ami

_original_init = Ami.__init__


def __init__(self: Ami, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    if self.platform and str(self.platform).lower() != "windows":
        self.platform = None


def install() -> None:
    Ami.__init__ = __init__
