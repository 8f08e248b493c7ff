"""The state machine actions: create, describe, update, delete, list, validate, and tags."""

from __future__ import annotations

from typing import Any

from .._context import new_uuid, state_machine_arn
from .._machine import validate
from . import shapes
from .base import ServiceBase
from .checks import (
    MAX_TAGS,
    check_logging,
    check_resource_name,
    check_role,
    check_tracing,
    compile_machine,
    now,
    parse_arn,
    tags_from,
)
from .protocol import ServiceError, check_fields
from .store import MachineRecord, page

__all__ = ["MachineActions"]


class MachineActions(ServiceBase):
    """CreateStateMachine, DescribeStateMachine, UpdateStateMachine, DeleteStateMachine,
    ListStateMachines, ValidateStateMachineDefinition, TagResource, UntagResource, ListTagsForResource."""

    async def create_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.CREATE)
        name, definition, role_arn = req["name"], req["definition"], req["roleArn"]
        machine_type = req.get("type") or "STANDARD"
        check_resource_name(name)
        check_role(role_arn)
        if req.get("publish"):
            raise ServiceError(
                "ValidationException", "expressway does not support state machine versions (publish)"
            )
        logging = check_logging(req.get("loggingConfiguration"))
        tracing = check_tracing(req.get("tracingConfiguration"))
        tags = tags_from(req.get("tags") or [])
        if len(tags) > MAX_TAGS:
            raise ServiceError("TooManyTags", f"Too many tags: at most {MAX_TAGS} per resource")
        arn = state_machine_arn(name)
        existing = self.store.find(arn)
        if existing is not None:
            if existing.deleting:
                raise ServiceError("StateMachineDeleting", f"State Machine is being deleted: '{arn}'")
            # AWS: idempotent on name, definition, type, logging and tracing; a different roleArn or
            # tags is ignored (and not applied).
            same = (existing.definition, existing.type, existing.logging, existing.tracing) == (
                definition,
                machine_type,
                logging,
                tracing,
            )
            if same:
                return {"stateMachineArn": arn, "creationDate": existing.creation_date}
            raise ServiceError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
        machine = compile_machine(definition, machine_type, name, role_arn)
        created = now()
        record = MachineRecord(
            arn=arn,
            name=name,
            type=machine_type,
            definition=definition,
            role_arn=role_arn,
            machine=machine,
            creation_date=created,
            update_date=created,
            revision_id=new_uuid(),
            logging=logging,
            tracing=tracing,
            tags=tags,
        )
        if self.store.add_machine(record) is None:  # another worker created it a moment ago
            return await self.create_state_machine(req)
        return {"stateMachineArn": arn, "creationDate": created}

    async def describe_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.MACHINE_ARN)
        m = self._machine(req["stateMachineArn"])
        return {
            "stateMachineArn": m.arn,
            "name": m.name,
            "status": "DELETING" if m.deleting else "ACTIVE",
            "definition": m.definition,
            "roleArn": m.role_arn,
            "type": m.type,
            "creationDate": m.creation_date,
            "loggingConfiguration": m.logging,
            "tracingConfiguration": m.tracing,
            "revisionId": m.revision_id,
        }

    async def update_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.UPDATE)
        m = self._machine(req["stateMachineArn"])
        if m.deleting:
            raise ServiceError("StateMachineDeleting", f"State Machine is being deleted: '{m.arn}'")
        changes = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
        if all(req.get(key) is None for key in changes):
            raise ServiceError(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration "
                "must be specified",
            )
        if req.get("publish"):
            raise ServiceError(
                "ValidationException", "expressway does not support state machine versions (publish)"
            )
        role_arn = req.get("roleArn")
        if role_arn is not None:
            check_role(role_arn)
        logging = check_logging(req["loggingConfiguration"]) if req.get("loggingConfiguration") else m.logging
        tracing = check_tracing(req["tracingConfiguration"]) if req.get("tracingConfiguration") else m.tracing
        definition = req.get("definition")
        role_arn = role_arn or m.role_arn
        if definition is not None:
            machine = compile_machine(definition, m.type, m.name, role_arn)
        else:  # running executions keep the role they started with: only new ones see the change
            machine = m.machine
            machine.role_arn = role_arn
        # Running executions keep the definition they started with (they hold their own program).
        m.machine = machine
        m.definition = definition if definition is not None else m.definition
        m.role_arn = role_arn
        m.logging, m.tracing = logging, tracing
        m.update_date = now()
        m.revision_id = new_uuid()
        self.store.save_machine(m)
        return {"updateDate": m.update_date, "revisionId": m.revision_id}

    async def delete_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.MACHINE_ARN)
        arn = req["stateMachineArn"]
        parse_arn(arn, "stateMachine")
        m = self.store.find(arn)
        if m is not None:
            # Running executions finish; the machine goes when the last one ends (status DELETING).
            m.deleting = True
            if m.running == 0:
                self.store.forget_machine(m)
            else:
                self.store.save_machine(m)
        return {}

    async def list_state_machines(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.LIST_MACHINES)
        machines = self.store.machines()
        items, token = page(
            machines, req.get("maxResults"), req.get("nextToken"), scope="ListStateMachines", key=_machine_arn
        )
        out: dict[str, Any] = {
            "stateMachines": [
                {"stateMachineArn": m.arn, "name": m.name, "type": m.type, "creationDate": m.creation_date}
                for m in items
            ]
        }
        if token:
            out["nextToken"] = token
        return out

    async def validate_state_machine_definition(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.VALIDATE)
        severity = req.get("severity") or "ERROR"
        limit = req.get("maxResults") or 100
        diagnostics = validate(req["definition"], req.get("type") or "STANDARD")
        errors = [d for d in diagnostics if d["severity"] == "ERROR"]
        shown = diagnostics if severity == "WARNING" else errors
        return {
            "result": "FAIL" if errors else "OK",
            "diagnostics": shown[:limit],
            "truncated": len(shown) > limit,
        }

    # ------------------------------------------------------------------ tags

    def _tagged(self, arn: str) -> MachineRecord:
        parse_arn(arn, "stateMachine")
        m = self.store.find(arn)
        if m is None:
            raise ServiceError("ResourceNotFound", f"Resource not found: '{arn}'")
        return m

    async def tag_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.TAG)
        m = self._tagged(req["resourceArn"])
        tags = {**m.tags, **tags_from(req["tags"])}
        if len(tags) > MAX_TAGS:
            raise ServiceError("TooManyTags", f"Too many tags: at most {MAX_TAGS} per resource")
        m.tags = tags
        self.store.save_machine(m)
        return {}

    async def untag_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.UNTAG)
        m = self._tagged(req["resourceArn"])
        if not all(isinstance(key, str) for key in req["tagKeys"]):
            raise ServiceError("SerializationException", "Member 'tagKeys' must be a list of strings")
        for key in req["tagKeys"]:
            m.tags.pop(key, None)
        self.store.save_machine(m)
        return {}

    async def list_tags_for_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.RESOURCE_ARN)
        m = self._tagged(req["resourceArn"])
        return {"tags": [{"key": k, "value": v} for k, v in m.tags.items()]}


def _machine_arn(machine: Any) -> Any:
    return machine.arn
