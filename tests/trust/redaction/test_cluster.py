"""`tessera redact --cluster`: a folder redacted on a Dask cluster of two local worker
processes gives the files one process gives; an interrupted run resumes from the manifest;
addresses that would send transcripts in clear over a network are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tessera.trust import ClusterUnavailable
from tessera.trust.cluster import check_cluster_address
from tessera.trust.redaction import MANIFEST, RedactionJob

pytestmark = pytest.mark.slow

CALLS = {
    "a/call.txt": "Client: ma carte 4970 1012\nAgent: oui\nClient: 3456 7893\n",
    "b/chat.jsonl": json.dumps({"speaker": "c", "text": "mail jean.dupont@exemple.fr"}) + "\n",
    "c/broken.jsonl": "{not json\n",
    "d/en.txt": "Agent: can i get your social security number\nCaller: 219-09-1234\n",
}


def _tree(root: Path) -> None:
    for rel, text in CALLS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_a_local_cluster_redacts_as_one_process_does_and_resumes(tmp_path: Path) -> None:
    source = tmp_path / "in"
    _tree(source)
    alone = {o.source: o for o in RedactionJob(source, tmp_path / "alone").run()}
    clustered = RedactionJob(source, tmp_path / "out", workers=2, cluster="local")
    seen: list[tuple[int, int]] = []
    outcomes = {o.source: o for o in clustered.run(on_progress=lambda d, t: seen.append((d, t)))}
    assert {k: (o.status, o.findings) for k, o in outcomes.items()} == {
        k: (o.status, o.findings) for k, o in alone.items()
    }
    assert outcomes["c/broken.jsonl"].status == "failed"
    for rel in ("a/call.txt", "b/chat.jsonl", "d/en.txt"):
        assert (tmp_path / "out" / rel).read_text() == (tmp_path / "alone" / rel).read_text()
    assert "3456" not in (tmp_path / "out" / "a/call.txt").read_text()
    assert seen[-1] == (4, 4) and not list((tmp_path / "out").rglob("*.part"))
    # Interrupted after the first file (its manifest says so): the rerun redoes only the rest.
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    kept = {"a/call.txt": manifest["done"]["a/call.txt"]}
    (tmp_path / "out" / MANIFEST).write_text(json.dumps({"version": 1, "done": kept}))
    again = {o.source: o.status for o in clustered.run()}
    assert again == {
        "a/call.txt": "skipped",
        "b/chat.jsonl": "redacted",
        "c/broken.jsonl": "failed",
        "d/en.txt": "redacted",
    }


def test_nothing_to_do_starts_no_cluster(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    assert (
        RedactionJob(tmp_path / "in", tmp_path / "out", cluster="tls://10.0.0.9:8786").run() == []
    )


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("tcp://10.0.0.9:8786", "over tls://"),
        ("tcp://scheduler.example:8786", "over tls://"),
        ("http://127.0.0.1:8786", "a Dask scheduler's address"),
        ("everywhere", "a Dask scheduler's address"),
    ],
)
def test_addresses_that_would_send_transcripts_in_clear_are_refused(address: str, why: str) -> None:
    with pytest.raises(ClusterUnavailable, match=why):
        check_cluster_address(address)
    assert check_cluster_address("tcp://127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert check_cluster_address("tls://scheduler.example:8786") == "tls://scheduler.example:8786"


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path: Path) -> None:
    from tests.conftest import free_port

    source = tmp_path / "in"
    _tree(source)
    job = RedactionJob(source, tmp_path / "out", cluster=f"tcp://127.0.0.1:{free_port()}")
    with pytest.raises(ClusterUnavailable, match="no Dask scheduler answers"):
        job.run()
    assert not (tmp_path / "out" / "a/call.txt").exists()


def test_tessera_redact_on_a_cluster_says_why_not_in_one_line(tmp_path: Path) -> None:
    from tests.cli import run

    source = tmp_path / "in"
    _tree(source)
    env = {"TESSERA_DATA_DIR": str(tmp_path / "data")}
    done = run(
        ["redact", str(source), "-o", str(tmp_path / "out"), "--cluster", "tcp://10.1.2.3:8786"],
        env,
        check=False,
    )
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert "over tls://" in said and "Traceback" not in said
    assert len(said.strip().splitlines()) == 1


def test_a_killed_worker_loses_no_file_and_writes_none_twice(tmp_path: Path) -> None:
    """A worker killed mid-job: Dask gives its files to another, and each output is written
    once (the coordinator writes, as workers finish)."""
    import os
    import signal

    from distributed import LocalCluster

    source = tmp_path / "in"
    source.mkdir()
    for i in range(12):
        (source / f"call{i:02}.txt").write_text(CALLS["a/call.txt"])
    # The job is the cluster's only client (two clients in one thread share no event loop).
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        pids = [worker.process.pid for worker in cluster.workers.values()]
        killed: list[int] = []

        def kill_one(done: int, total: int) -> None:
            if done >= 1 and not killed:
                killed.append(pids[0])
                os.kill(pids[0], signal.SIGKILL)

        job = RedactionJob(source, tmp_path / "out", cluster=cluster.scheduler_address)
        outcomes = job.run(on_progress=kill_one)
    assert killed
    assert sorted(o.source for o in outcomes) == sorted(f"call{i:02}.txt" for i in range(12))
    assert {o.status for o in outcomes} == {"redacted"}
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert len(manifest["done"]) == 12
    for i in range(12):
        assert "3456" not in (tmp_path / "out" / f"call{i:02}.txt").read_text()
