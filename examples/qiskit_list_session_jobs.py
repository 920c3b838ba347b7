"""List the jobs of a session, find a session from a job, and reopen it with ``from_id``.

IBM's patterns: ``service.jobs(session_id=...)`` lists a session's jobs (newest first);
``service.job(job_id).session_id`` gives a job's session; ``Session.from_id(session_id,
service)`` gives a handle on an existing session. The jobs are read back from the store, so
this works from another process too.

python examples/qiskit_list_session_jobs.py
"""

from __future__ import annotations

from qiskit import QuantumCircuit

from qsession_provider.qiskit import Batch, QiskitRuntimeService, Sampler, Session


def main() -> None:
    service = QiskitRuntimeService()
    backend = service.backend("statevector")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()

    with Session(backend=backend) as session:
        sampler = Sampler()
        sampler.options.environment.job_tags = ["listing-demo"]
        first = sampler.run([circuit], shots=10)
        for shots in (20, 30):
            sampler.run([circuit], shots=shots).result()
    with Batch(backend=backend) as batch:
        Sampler().run([circuit], shots=5).result()

    print(f"jobs of session {session.session_id}:")
    for job in service.jobs(session_id=session.session_id):
        shots = job.result()[0].data.meas.num_shots
        print(f"  {job.job_id()}  {job.primitive_id}  {job.status()}  {shots} shots  {job.tags}")
    print(f"jobs of batch {batch.session_id}: {len(service.jobs(session_id=batch.session_id))}")
    print(f"no such session: {service.jobs(session_id='no-such-session')}")

    found = service.job(first.job_id())
    print(f"job {found.job_id()[:8]}... belongs to session {found.session_id}")
    again = Session.from_id(found.session_id, service)
    print(
        f"Session.from_id: {again.status()}, mode {again.details()['mode']}, "
        f"{len(service.jobs(session_id=again.session_id))} jobs"
    )


if __name__ == "__main__":
    main()
