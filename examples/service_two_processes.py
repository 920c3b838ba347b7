"""Run the runtime as a service: a Qiskit session and a Cirq sampler from two processes.

Starts ``qsession serve`` on a free port with a fresh store, creates a token, then runs two
client processes against it: one opens a Qiskit session and runs a sampler job in it; the
other joins that same session by id (as a second notebook of the same user would) and
samples a Cirq circuit on the same device. Then it stops the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

QISKIT_CLIENT = """
import sys
from qiskit import QuantumCircuit
from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, Session

url, token = sys.argv[1:3]
service = QiskitRuntimeService(url=url, token=token)
backend = service.backend("statevector")
bell = QuantumCircuit(2)
bell.h(0)
bell.cx(0, 1)
bell.measure_all()
session = Session(backend=backend)
counts = SamplerV2(mode=session).run([bell], shots=200).result()[0].data.meas.get_counts()
print(session.session_id)
print("qiskit process:", sorted(counts.items()), session.status(), file=sys.stderr)
"""

CIRQ_CLIENT = """
import sys
import cirq
from qsession_provider.cirq import Service

url, token, session_id = sys.argv[1:4]
service = Service(url=url, token=token)
q = cirq.LineQubit.range(2)
circuit = cirq.Circuit(cirq.H(q[0]), cirq.CNOT(q[0], q[1]), cirq.measure(*q, key="m"))
sampler = service.get_target("statevector").sampler(session=session_id)  # join A's session
result = sampler.run(circuit, repetitions=100)
jobs = service.list_jobs()
print("cirq process:", result.histogram(key="m"), "jobs in the session:",
      sum(job.session_id == session_id for job in jobs))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "service.sqlite3")
        cli = [sys.executable, "-m", "qsession_provider.cli"]
        token = subprocess.run(
            [*cli, "token", "create", "alice", "--instance", "lab", "--store", store],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        server = subprocess.Popen(
            [*cli, "serve", "--port", "0", "--store", store, "--log-level", "warning"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[-1]  # "qsession serve: listening on URL"
            print("server:", url)
            first = subprocess.run(
                [sys.executable, "-c", QISKIT_CLIENT, url, token],
                check=True,
                capture_output=True,
                text=True,
            )
            session_id = first.stdout.strip()
            print(first.stderr.strip())
            second = subprocess.run(
                [sys.executable, "-c", CIRQ_CLIENT, url, token, session_id],
                check=True,
                capture_output=True,
                text=True,
            )
            print(second.stdout.strip())
        finally:
            server.terminate()
            print("server stopped with exit code", server.wait(timeout=60))


if __name__ == "__main__":
    main()
