"""The bench's profile tables (bench/profile.py) split py-spy's samples by process."""

from __future__ import annotations

from bench.profile import top_functions

HUB = 'process 10:"python -m hub.entrypoints.cli run"'
WORKER = 'process 11:"python -B -c from multiprocessing.spawn import spawn_main; spawn_main(pipe_handle=13) --multiprocessing-fork"'


def test_samples_are_counted_by_area_and_by_process(tmp_path):
    (tmp_path / "profile.txt").write_text(
        "\n".join(
            [
                f"{HUB};run (hub/entrypoints/runner.py:9);fetch (asyncpg/connection.py:1) 30",
                f"{HUB};{WORKER};_inspect_all (hub/adapters/validation_pool.py:3);"
                "model_validate (fhir/resources/R4B/bundle.py:2) 60",
                f"{HUB};{WORKER};_worker (concurrent/futures/process.py:1) 5",
                f"{HUB};open (hub/intake/envelope.py:4) 10",
            ]
        )
        + "\n"
    )

    found = top_functions(tmp_path)

    assert found["samples"] == 100 and found["idle_samples"] == 5
    assert found["process_samples"] == {"hub": 40, "workers": 60}
    areas = dict(found["areas"])
    assert areas["structural validation (fhir.resources, fhir_core, its pydantic)"] == 0.6
    assert areas["PostgreSQL: asyncpg and hub/adapters/postgres"] == 0.3
    table = (tmp_path / "profile-top.md").read_text()
    assert "| structural validation (fhir.resources, fhir_core, its pydantic) | 60.0% | 0.0% | 60.0% |" in table
    assert "| `model_validate (fhir/resources/R4B/bundle.py)` | 60.0% |" in table


def test_a_profile_of_the_hub_alone_has_one_share_column(tmp_path):
    (tmp_path / "profile.txt").write_text("run (hub/entrypoints/runner.py:9);fetch (asyncpg/connection.py:1) 3\n")

    found = top_functions(tmp_path)

    assert found["process_samples"] == {"hub": 3, "workers": 0}
    assert "| PostgreSQL: asyncpg and hub/adapters/postgres | 100.0% |" in (tmp_path / "profile-top.md").read_text()
