"""Translation from frameworks and formats to the neutral IR, and results back.

One subpackage per framework (:mod:`.qiskit`, :mod:`.cirq`); each imports only
``core.ir``, ``errors`` and its own framework. Nothing here runs jobs.
"""
