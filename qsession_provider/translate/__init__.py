"""Translation from frameworks and formats to the neutral IR; nothing here runs jobs.

One subpackage per framework (:mod:`.qiskit`, :mod:`.cirq`); each imports only
``core.ir``, ``errors``, its own framework and the framework-free modules here:
:mod:`.context` (the controls and condition a translator passes down, and where the
IR operations go) and :mod:`.params` (symbolic parameters, converted once per
translation). Importing a subpackage whose framework is missing raises an ImportError
that names the extra to install.
"""
