"""``expressway serve``: the Step Functions API (AWS JSON 1.0) over HTTP, for boto3, the AWS CLI and the
SDKs. ``actions`` holds the actions, ``store`` what they remember, ``protocol`` the wire format, ``app``
the aiohttp application and ``server`` the processes."""

from .actions import Service, ServiceOptions
from .app import make_app

__all__ = ["Service", "ServiceOptions", "make_app"]
