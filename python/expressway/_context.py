"""Names, ARNs and the execution context that the core puts under ``$$``.

expressway pretends to be one AWS account in one region, as AWS would name things there.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import re
from collections.abc import Callable

from . import _core

__all__ = [
    "ACCOUNT_ID",
    "REGION",
    "ROLE_ARN",
    "check_name",
    "check_place",
    "configure",
    "execution_arn",
    "execution_context",
    "iso_timestamp",
    "new_uuid",
    "state_machine_arn",
]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/expressway"

_REGION_FORM = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_ACCOUNT_FORM = re.compile(r"^\d{12}$")


def check_place(region: str | None = None, account_id: str | None = None) -> None:
    """ValueError for a region or account id AWS would not have."""
    if region is not None and not _REGION_FORM.match(region):
        raise ValueError(f"not a region name: {region!r} (like us-east-1)")
    if account_id is not None and not _ACCOUNT_FORM.match(account_id):
        raise ValueError(f"not an account id: {account_id!r} (12 digits)")


def configure(*, region: str | None = None, account_id: str | None = None) -> None:
    """Sets the region and account that ARNs name, for the whole process (the service's
    ``--region`` / ``--account-id``)."""
    global REGION, ACCOUNT_ID, ROLE_ARN  # noqa: PLW0603 - one process, one pretend account
    check_place(region, account_id)
    REGION = region or REGION
    ACCOUNT_ID = account_id or ACCOUNT_ID
    ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/expressway"


# AWS: 1-80 characters, no whitespace, brackets, wildcards, special or control characters.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")


def check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 80 or _BAD_NAME.search(name):
        raise ValueError(
            f"invalid {what} name {name!r}: 1-80 characters, without whitespace, brackets, wildcards "
            "or special characters"
        )
    return name


# Identifiers need to be unique, not secret: the core draws them from a lock-free counter-based
# generator (seeded here from the OS) many times faster than uuid.uuid4(), which reads /dev/urandom.
new_uuid: Callable[[], str] = _core.new_uuid
"""A random (version 4) UUID as text, e.g. ``1b4e28ba-2fa1-41d2-883f-0016d3cca427``."""


def _seed_ids() -> None:
    _core.seed_ids(int.from_bytes(os.urandom(8), "little"))


_seed_ids()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_seed_ids)  # a forked child must not repeat its parent's ids


def state_machine_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"


def execution_arn(machine_name: str, execution_name: str, machine_type: str) -> str:
    if machine_type == "EXPRESS":
        return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:express:{machine_name}:{execution_name}:{new_uuid()}"
    return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{machine_name}:{execution_name}"


@functools.lru_cache(maxsize=4)
def _second_prefix(seconds: int) -> str:
    return f"{_dt.datetime.fromtimestamp(seconds, tz=_dt.UTC):%Y-%m-%dT%H:%M:%S}"


def iso_timestamp(epoch_ms: int) -> str:
    """``2026-11-26T00:15:51.123Z``: the form of ``$$.Execution.StartTime``. (Formatting the date is
    the slow part: it is done once a second.)"""
    seconds, millis = divmod(int(epoch_ms), 1000)
    return f"{_second_prefix(seconds)}.{millis:03d}Z"


def execution_context(
    *, arn: str, name: str, start_ms: float, machine_arn: str, machine_name: str, role_arn: str
) -> dict[str, object]:
    return {
        "execution_id": arn,
        "execution_name": name,
        "start_time": iso_timestamp(start_ms),
        "start_time_ms": int(start_ms),
        "role_arn": role_arn,
        "state_machine_id": machine_arn,
        "state_machine_name": machine_name,
    }
