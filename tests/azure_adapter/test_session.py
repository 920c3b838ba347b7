"""The Azure ``Session`` object and ``SessionHost``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from qsession_provider.azure import (
    ItemType,
    Priority,
    Session,
    SessionDetails,
    SessionHost,
    SessionJobFailurePolicy,
    SessionStatus,
    Workspace,
)
from qsession_provider.core.ir.circuit import Circuit
from qsession_provider.core.ir.payload import RunPayload
from qsession_provider.errors import InputError, SessionClosedError, SessionNotFoundError

pytestmark = pytest.mark.timeout(60)


# -- the Session constructor --------------------------------------------------------------------
def test_defaults_uuid1_id_session_name_and_provider(workspace: Workspace) -> None:
    session = Session(workspace, target="statevector")
    assert uuid.UUID(session.id).version == 1
    assert session.details.name == f"session-{session.id}"
    assert session.details.provider_id == "qsession"
    assert session.details.target == "statevector"
    assert session.details.job_failure_policy is None  # unset: the service default applies
    assert session.item_type is ItemType.SESSION
    assert session.target is None and session.workspace is workspace
    named = Session(workspace, target="ionq.simulator", id="s-1", name="", priority="high")
    assert (named.id, named.details.name, named.details.provider_id) == ("s-1", "", "ionq")
    assert named.details.priority is Priority.HIGH


def test_details_or_fields(workspace: Workspace) -> None:
    details = SessionDetails(id="abc", name="n", target="statevector")
    assert Session(workspace, details=details).details is details
    for extra in ({"target": "statevector"}, {"id": "x"}, {"job_failure_policy": "Abort"}):
        with pytest.raises(ValueError, match="If `session_details` is passed, you should not"):
            Session(workspace, details=details, **extra)
    with pytest.raises(ValueError, match="you should at least pass the `target`"):
        Session(workspace)
    with pytest.raises(ValueError, match="invalid job_failure_policy 'Sometimes'"):
        Session(workspace, target="statevector", job_failure_policy="Sometimes")
    with pytest.raises(TypeError, match="'colour'"):
        Session(workspace, target="statevector", colour="red")


def test_target_object_is_kept(workspace: Workspace, sv: Any) -> None:
    session = Session(workspace, target=sv)
    assert session.target is sv and session.details.target == "statevector"


# -- open / refresh / close ---------------------------------------------------------------------
def test_open_refresh_close(workspace: Workspace, bell: str) -> None:
    session = Session(workspace, target="statevector", tags=["a"])
    assert session.open() is session
    d = session.details
    assert d.status is SessionStatus.WAITING
    assert d.job_failure_policy is SessionJobFailurePolicy.ABORT
    assert isinstance(d.creation_time, datetime) and d.begin_execution_time is None
    assert d.tags == ["a"] and d.item_type is ItemType.SESSION
    assert session.refresh() is session
    assert session.close() is session
    assert session.details.status is SessionStatus.SUCCEEDED
    assert session.is_in_terminal_state()
    assert session.close().details.status is SessionStatus.SUCCEEDED  # closing again: refresh
    assert "status=Succeeded" in repr(session)


def test_open_twice_is_refused(workspace: Workspace) -> None:
    session = Session(workspace, target="statevector").open()
    with pytest.raises(InputError, match="already exists"):
        session.open()


def test_open_on_an_unknown_target_names_the_known_ones(workspace: Workspace) -> None:
    with pytest.raises(LookupError, match="no device named 'ionq.simulator'"):
        Session(workspace, target="ionq.simulator").open()


def test_closing_a_session_that_was_never_opened(workspace: Workspace) -> None:
    with pytest.raises(SessionNotFoundError):
        Session(workspace, target="statevector").close()


def test_enter_does_not_open_and_exit_closes(workspace: Workspace) -> None:
    session = Session(workspace, target="statevector")
    with session as entered:
        assert entered is session and session.details.status is None
        session.open()
    assert session.details.status is SessionStatus.SUCCEEDED


def test_exit_closes_and_reraises(sv: Any) -> None:
    with pytest.raises(KeyError), sv.open_session() as session:
        raise KeyError("boom")
    assert session.details.status is SessionStatus.SUCCEEDED


def test_list_jobs_of_a_session(sv: Any, bell: str) -> None:
    with sv.open_session() as session:
        ids = [sv.submit(bell, name=f"Job {i}", shots=10).id for i in range(3)]
    assert [j.id for j in session.list_jobs()] == ids
    assert all(j.details.session_id == session.id for j in session.list_jobs())


# -- SessionHost --------------------------------------------------------------------------------
def test_latest_session_belongs_to_the_target_object(workspace: Workspace, bell: str) -> None:
    a = workspace.get_targets("statevector")
    b = workspace.get_targets("statevector")  # a new object, as in azure-quantum
    session = a.open_session(name="on a")
    assert a.latest_session is session and a.get_latest_session_id() == session.id
    assert b.latest_session is None and b.get_latest_session_id() is None
    assert a.submit(bell, shots=10).details.session_id == session.id
    assert b.submit(bell, shots=10).details.session_id is None
    assert "_qsession_latest_session" not in type(a).__dict__


def test_open_session_closes_the_previous_one(sv: Any) -> None:
    first = sv.open_session(name="first")
    second = sv.open_session(name="second", job_failure_policy="Continue", tags=["t"])
    assert first.details.status is SessionStatus.SUCCEEDED
    assert sv.latest_session is second and second.details.status is SessionStatus.WAITING
    assert second.details.job_failure_policy is SessionJobFailurePolicy.CONTINUE
    assert second.details.tags == ["t"]


def test_open_session_from_details(sv: Any) -> None:
    details = SessionDetails(id="given", name="from details", target="statevector")
    session = sv.open_session(details=details)
    assert session.id == "given" and session.details.status is SessionStatus.WAITING


def test_after_the_with_block_the_closed_session_stays_latest(sv: Any, bell: str) -> None:
    with sv.open_session() as session:
        sv.submit(bell, shots=10)
    assert sv.latest_session is session
    with pytest.raises(SessionClosedError, match="is closing|is closed"):
        sv.submit(bell, shots=10)
    sv.latest_session = None
    assert sv.submit(bell, shots=10).details.session_id is None


class _Host(SessionHost):
    """The smallest host another face could write: a workspace and a target name."""

    def __init__(self, workspace: Workspace, device: str) -> None:
        self.workspace, self.device = workspace, device

    def _get_azure_workspace(self) -> Workspace:
        return self.workspace

    def _get_azure_target_id(self) -> str:
        return self.device

    def run(self, payload: Any) -> Any:
        return self.workspace.runtime.submit(
            "run", self.device, payload, session_id=self.get_latest_session_id()
        )


def test_session_host_needs_only_a_workspace_and_a_target_name(
    workspace: Workspace, bell_ir: Circuit
) -> None:
    host = _Host(workspace, "statevector")
    with host.open_session(name="other face") as session:
        job = host.run(RunPayload((bell_ir,), shots=5))
        job.wait()
    assert job.session_id == session.id
    assert [j.id for j in session.list_jobs()] == [job.id]
    assert session.details.status is SessionStatus.SUCCEEDED
    with pytest.raises(NotImplementedError):
        SessionHost().open_session()
