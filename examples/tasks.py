"""Task handlers for examples/order.asl.json.

    expressway run examples/order.asl.json --input-file examples/order.input.json \\
        --tasks examples/tasks.py:TASKS
"""

from __future__ import annotations

import asyncio
from typing import Any

import expressway

STOCK = {"kettle": 3, "toaster": 0}
_busy_once: set[str] = set()


def check_stock(event: dict[str, Any]) -> dict[str, Any]:
    count = STOCK.get(event["order"]["item"], 0)
    return {"available": count > 0, "count": count}


async def charge_card(payload: dict[str, Any]) -> dict[str, Any]:
    order = payload["order"]
    await asyncio.sleep(0.01)  # an async handler: a call to a payment gateway
    if order["card"].startswith("0"):
        raise expressway.TaskFailed("CardDeclined", "insufficient funds")
    if order["id"] not in _busy_once:  # the first attempt meets a busy gateway; the Retry handles it
        _busy_once.add(order["id"])
        raise expressway.TaskFailed("PaymentGatewayBusy", "try again")
    return {"charged": payload["amount"], "currency": "EUR"}


def ship(event: dict[str, Any]) -> dict[str, Any]:
    return {"orderId": event["orderId"], "carrier": "local-post", "charged": event["receipt"]["charged"]}


TASKS = {"check-stock": check_stock, "charge-card": charge_card, "ship": ship}
