"""A background process for the browser tests: submits jobs into a session over HTTP.

Usage: ``python submitter.py URL TOKEN SESSION_ID COUNT PAUSE``: submits ``COUNT`` small
sampler jobs (named ``step-<k>``) into the session on the emulated QPU, one every
``PAUSE`` real seconds, and prints each job's id on its own line.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/server
from conftest import API, job_body  # noqa: E402

QPU = "emulated_falcon_27"


def main(argv: list[str]) -> int:
    url, token, session_id, count, pause = argv[0], argv[1], argv[2], int(argv[3]), float(argv[4])
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + API, headers=headers, timeout=60.0) as api:
        for k in range(count):
            body = job_body(QPU, session_id=session_id, name=f"step-{k}")
            response = api.post("/jobs", json=body)
            response.raise_for_status()
            print(response.json()["job"]["id"], flush=True)
            time.sleep(pause)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
