"""The hook specifications: named, documented, marked as their docstrings say."""

from __future__ import annotations

import inspect

import pluggy

from qsession_provider.plugins import hookspecs

HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "qsession_provider_spec")
)


def test_the_expected_hooks_exist() -> None:
    assert HOOKS == [
        "qsession_job_finished",
        "qsession_job_started",
        "qsession_job_submitted",
        "qsession_register_devices",
        "qsession_scheduling_policy",
        "qsession_session_state_changed",
    ]


def test_every_hook_is_prefixed_and_documented() -> None:
    for name in HOOKS:
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert name.startswith("qsession_")
        assert len(doc.splitlines()) >= 3, f"{name} needs a real docstring"
        for param in inspect.signature(fn).parameters:
            assert param in doc, f"{name}: argument {param!r} is not documented"


def test_firstresult_hooks_say_so_in_their_docstring() -> None:
    for name in HOOKS:
        fn = getattr(hookspecs, name)
        firstresult = fn.qsession_provider_spec["firstresult"]
        assert firstresult == ("firstresult" in (inspect.getdoc(fn) or "")), name


def test_every_hook_is_listed_in_the_module_documentation_of_the_manager() -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    assert sorted(n for n in dir(pm.hook) if n.startswith("qsession_")) == HOOKS
