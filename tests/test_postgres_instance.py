"""The team deployment of docs/postgres.md, end to end, on a throwaway PostgreSQL server.

A PostgreSQL server is started in a temporary folder (as the `postgres` system user when we are root), a
role and a database are created as the docs say, and `$DAGSTER_HOME/dagster.yaml` is generated from
`deploy/postgres/dagster.yaml`, pointed at that server. `dagster-daemon run -w workspace.yaml` then runs
with the ONEVISION_* variables on a scratch landing zone (the samples for 17, the same files renamed for
91). The register run goes through the run queue, then both department runs are submitted together;
once they succeed, the run history is read back from PostgreSQL (through `DagsterInstance` and directly
with psycopg2) and the DuckDB warehouse must hold positions for both departments.

Runs are created and submitted with the building blocks of `dagster job launch` (Dagster internals, pinned to
1.13.27 by constraints.txt), the code location being loaded once for all runs instead of once per command.
Every sensor is stopped first so that only the runs submitted here exist; the two departments are added as
partitions as an operator (or `onevision run`) does.

Without the PostgreSQL server binaries the test is skipped, except under CI (`CI=true`) where it fails.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
import pytest
import yaml
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget

from onevision_dagster.orchestration.partitions import add_departements

from .conftest import REPO, on_ci

pytestmark = pytest.mark.postgres

EXAMPLE_INSTANCE = REPO / "deploy" / "postgres" / "dagster.yaml"
LOCAL_INSTANCE = REPO / "dagster.yaml"
WORKSPACE = REPO / "workspace.yaml"
PASSWORD_ENV = "DAGSTER_PG_PASSWORD"
DEPARTMENTS = ("17", "91")
REGISTER_JOB = "chargement_registre"
DEPARTMENT_JOB = "rafraichissement_departement"
AUTOMATION_SENSOR = "automatisation"
RUN_TIMEOUT_S = 480.0  # generous: CI shares 2 cores with nothing else, but a first start compiles caches
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


# --------------------------------------------------------------------------------------------------------------
# The throwaway PostgreSQL server


def _in_ci() -> bool:
    return on_ci()


def _unavailable(reason: str) -> None:
    """Skip on a developer machine; under CI a missing server is a broken environment, not a reason to skip."""
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: scripts/test.sh installs the Debian package `postgresql` as root)")
    pytest.skip(f"{reason}; install the Debian package `postgresql` (scripts/test.sh does it when run as root)")


def _server_bindir() -> Path | None:
    def version(d: str) -> tuple[int, ...]:
        part = Path(d).parent.name
        return tuple(int(x) for x in part.split(".") if x.isdigit()) or (0,)

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for d in candidates:
        if all((Path(d) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(d)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    root: Path  # data directory, log, password file and unix socket, owned by the server's user
    port: int = 0
    superuser_password: str = ""

    @property
    def _as_user(self) -> list[str]:
        # The server refuses to run as root: use the `postgres` system user of the Debian package.
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, text=True, timeout=timeout)

    def init(self) -> None:
        self.superuser_password = secrets.token_hex(16)
        pwfile = self.root / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        if os.geteuid() == 0:
            for p in (self.root, pwfile):
                shutil.chown(p, user="postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()

    def start(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            self.port = _free_port()  # another process may take it before the server does: retry then
            options = (f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off -c max_connections=100")
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                          "-o", options, "start", timeout=90)
                return
            except subprocess.CalledProcessError as e:
                if attempt == attempts - 1:
                    log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                    raise RuntimeError(f"PostgreSQL did not start: {e.stderr}\n{log}") from e

    def stop(self) -> None:
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            if pidfile.exists():  # the postmaster we started, by its pid
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)

    def connect(self, user: str, password: str, dbname: str):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=user, password=password, dbname=dbname,
                                connect_timeout=10)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _server_bindir()
    if bindir is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and there is no `postgres` system user to run the server")
    # Not under pytest's basetemp: its folders are private to root and the `postgres` user must enter this one.
    root = Path(tempfile.mkdtemp(prefix="onevision-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    server = PostgresServer(bindir, root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------
# The Dagster deployment: role and database, DAGSTER_HOME, daemon


@dataclass
class Deployment:
    server: PostgresServer
    instance: dg.DagsterInstance
    workspace: WorkspaceProcessContext
    home: Path
    warehouse: Path
    db_user: str
    db_name: str
    db_password: str
    daemon_log: Path
    started: float  # time.monotonic() when the daemon was started


def _instance_yaml(server: PostgresServer, user: str, db_name: str) -> dict:
    """deploy/postgres/dagster.yaml, pointed at the throwaway server; everything else kept as is."""
    config = yaml.safe_load(EXAMPLE_INSTANCE.read_text())
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["password"] == {"env": PASSWORD_ENV}, "the example must read the password from the environment"
    db.update(hostname="127.0.0.1", port=server.port, username=user, db_name=db_name)
    return config


def _department_landing(sample_landing: Path, dest: Path) -> Path:
    shutil.copytree(sample_landing, dest)
    for f in dest.glob("*/*_17_*"):
        shutil.copy2(f, f.with_name(f.name.replace("_17_", "_91_")))
    return dest


def _stop_process_group(proc: subprocess.Popen) -> None:
    """The daemon was started in its own session: its code server and run workers share its process group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group (a run worker, the code server)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@pytest.fixture(scope="module")  # the daemon stops with this module, not at the end of the whole session
def deployment(postgres_server: PostgresServer, sample_landing: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    # As in docs/postgres.md: a login role owning the database Dagster stores its history in.
    user, db_name, password = "dagster", "dagster", secrets.token_hex(16)
    admin = postgres_server.connect("postgres", postgres_server.superuser_password, "postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {user} LOGIN PASSWORD %s", (password,))
        cur.execute(f"CREATE DATABASE {db_name} OWNER {user}")
    admin.close()

    base = tmp_path_factory.mktemp("postgres_instance")
    home = base / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(_instance_yaml(postgres_server, user, db_name)))
    onevision_env = {
        "ONEVISION_LANDING": str(_department_landing(sample_landing, base / "landing")),
        "ONEVISION_WAREHOUSE": str(base / "onevision.duckdb"),
        "ONEVISION_REPORTS": str(base / "rapports"),
        "ONEVISION_DEPARTEMENTS": ",".join(DEPARTMENTS),
        "ONEVISION_IMAGES": "0",  # no Chromium needed for the PNG charts
    }
    daemon_log = base / "daemon.log"
    with pytest.MonkeyPatch.context() as mp, ExitStack() as stack:
        mp.setenv(PASSWORD_ENV, password)
        # The instance creates Dagster's tables in PostgreSQL here, before any other process connects.
        instance = stack.enter_context(dg.DagsterInstance.from_config(str(home)))
        with pytest.MonkeyPatch.context() as code_env:
            # The code server this context starts inherits the environment at start-up: same as the daemon's.
            for k, v in {**onevision_env, "DAGSTER_HOME": str(home)}.items():
                code_env.setenv(k, v)
            workspace = stack.enter_context(
                WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(WORKSPACE)])))
        # Declarative automation and the landing sensor (both running by default) would add runs at their own
        # pace (the samples' 95 among them): this test wants exactly the runs it submits, so every sensor is
        # stopped (their state is stored in PostgreSQL) before the daemon starts.
        repo = _repository(workspace.create_request_context())
        assert repo.has_sensor(AUTOMATION_SENSOR)
        for sensor in repo.get_sensors():
            instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
        # What the landing sensor would have done: the two departments become partitions, as an operator adds
        # them (`onevision run` does the same).
        add_departements(instance, DEPARTMENTS)

        env = {**os.environ, **onevision_env, "DAGSTER_HOME": str(home), PASSWORD_ENV: password,
               "PYTHONUNBUFFERED": "1"}
        daemon_bin = Path(sys.executable).parent / "dagster-daemon"
        with daemon_log.open("wb") as out:
            daemon = subprocess.Popen(
                [str(daemon_bin) if daemon_bin.exists() else "dagster-daemon", "run", "-w", str(WORKSPACE)],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        stack.callback(_stop_process_group, daemon)  # runs first: the daemon goes before the workspace
        yield Deployment(postgres_server, instance, workspace, home, base / "onevision.duckdb", user, db_name,
                         password, daemon_log, time.monotonic())


# --------------------------------------------------------------------------------------------------------------
# Submitting runs through the queue, as `dagster job launch -w workspace.yaml -j JOB --tags ...` does


def _repository(request):
    location = request.get_code_location("onevision")
    (repo,) = location.get_repositories().values()
    return repo


def _submit(dep: Deployment, job_name: str, tags: dict[str, str] | None = None) -> str:
    request = dep.workspace.create_request_context()
    location = request.get_code_location("onevision")
    repo = _repository(request)
    remote_job = location.get_job(JobSubsetSelector(location_name=location.name, repository_name=repo.name,
                                                    job_name=job_name, op_selection=None))
    plan = location.get_execution_plan(remote_job, {}, step_keys_to_execute=None, known_state=None,
                                       instance=dep.instance).execution_plan_snapshot
    run = dep.instance.create_run(
        job_name=job_name, run_id=None, run_config={}, resolved_op_selection=None,
        step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None, root_run_id=None,
        parent_run_id=None, tags={**remote_job.tags, **(tags or {})}, job_snapshot=remote_job.job_snapshot,
        execution_plan_snapshot=plan, parent_job_snapshot=remote_job.parent_job_snapshot,
        remote_job_origin=remote_job.get_remote_origin(), job_code_origin=remote_job.get_python_origin(),
        asset_selection=None, asset_check_selection=None, asset_graph=repo.asset_graph,
    )
    return dep.instance.submit_run(run.run_id, request).run_id


def _diagnostics(dep: Deployment, run_ids: list[str]) -> str:
    statuses = dep.instance.get_daemon_statuses()
    lines = ["daemons: " + ", ".join(f"{t} {'healthy' if st.healthy else 'NOT HEALTHY'}" for t, st in statuses.items())]
    for run_id in run_ids:
        run = dep.instance.get_run_by_id(run_id)
        lines.append(f"run {run_id} {run.job_name} {run.tags.get('dagster/partition')}: {run.status.value}")
        for record in dep.instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_FAILURE,
                                                             dg.DagsterEventType.RUN_FAILURE}):
            event = record.get_dagster_event()
            error = event.step_failure_data.error if event.is_step_failure else None
            lines.append(f"    {event.event_type_value} {event.step_key or ''}: {event.message or ''}"
                         + (f"\n{error.to_string()[:2000]}" if error else ""))
    log = dep.daemon_log.read_text(errors="replace").splitlines() if dep.daemon_log.exists() else []
    # DuckDB's bindings print reference-leak noise when a process exits: not what one is looking for here.
    log = [line for line in log if "nanobind" not in line and "leaked " not in line]
    return "\n".join([*lines, "--- end of the daemon log ---", *log[-60:]])


def _wait_for(dep: Deployment, run_ids: list[str], deadline: float) -> None:
    seen: dict[str, dg.DagsterRunStatus] = {}
    while True:
        runs = [dep.instance.get_run_by_id(r) for r in run_ids]
        for r in runs:  # status changes, printed with the time since the start (shown by pytest on failure)
            if seen.get(r.run_id) != r.status:
                seen[r.run_id] = r.status
                print(f"+{time.monotonic() - dep.started:5.1f} s  {r.job_name} {r.tags.get('dagster/partition', '')}"
                      f" {r.status.value}")
        if all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs):
            return
        if any(r.status in FINISHED - {dg.DagsterRunStatus.SUCCESS} for r in runs):
            pytest.fail("a run did not succeed\n" + _diagnostics(dep, run_ids))
        if time.monotonic() > deadline:
            pytest.fail(f"runs not finished after {RUN_TIMEOUT_S:.0f} s\n" + _diagnostics(dep, run_ids))
        time.sleep(1.0)


def _pool_step_intervals(dep: Deployment, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of the run's steps that belong to a pool, from the event log stored in PostgreSQL."""
    run = dep.instance.get_run_by_id(run_id)
    plan = dep.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    pooled = {s.key for s in plan.steps if s.pool}
    start: dict[str, float] = {}
    intervals = []
    for record in dep.instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key not in pooled:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            start[event.step_key] = record.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            intervals.append((start[event.step_key], record.timestamp, event.step_key))
    return intervals


# --------------------------------------------------------------------------------------------------------------


def test_two_departments_through_the_postgres_backed_queue(deployment: Deployment) -> None:
    dep = deployment
    deadline = time.monotonic() + RUN_TIMEOUT_S

    # The register first (the department assets read it), through the queue like every operator run.
    register = _submit(dep, REGISTER_JOB)
    _wait_for(dep, [register], deadline)

    # Both departments submitted at once: the queue and the `duckdb_warehouse` pool (one slot, kept in
    # PostgreSQL) serialize their DuckDB steps; neither fails on the file lock.
    departments = {d: _submit(dep, DEPARTMENT_JOB, {"dagster/partition": d}) for d in DEPARTMENTS}
    _wait_for(dep, list(departments.values()), deadline)

    # The history, through Dagster.
    runs = [dep.instance.get_run_by_id(run_id) for run_id in departments.values()]
    assert {(r.tags.get("dagster/partition"), r.status) for r in runs} == {
        (d, dg.DagsterRunStatus.SUCCESS) for d in DEPARTMENTS}
    assert set(DEPARTMENTS) <= dep.instance.get_materialized_partitions(dg.AssetKey(["marts", "positions"]))
    pool = dep.instance.event_log_storage.get_concurrency_info("duckdb_warehouse")
    assert pool.limit == 1 and not pool.claimed_slots

    # The pool held: no two DuckDB steps of the two runs overlapped in time.
    a, b = (_pool_step_intervals(dep, departments[d]) for d in DEPARTMENTS)
    assert a and b
    overlaps = [(x[2], y[2]) for x in a for y in b if x[0] < y[1] and y[0] < x[1]]
    assert not overlaps, f"steps of the duckdb_warehouse pool ran at the same time: {overlaps}"

    # The history, straight from PostgreSQL.
    with dep.server.connect(dep.db_user, dep.db_password, dep.db_name) as con, con.cursor() as cur:
        cur.execute("SELECT run_id, pipeline_name, partition, status FROM runs")
        rows = {r[0]: r[1:] for r in cur.fetchall()}
    con.close()
    assert rows[register] == (REGISTER_JOB, None, "SUCCESS")
    for d, run_id in departments.items():
        assert rows[run_id] == (DEPARTMENT_JOB, d, "SUCCESS")

    # The data: positions for both departments in the one DuckDB file.
    with duckdb.connect(str(dep.warehouse), read_only=True) as con:
        found = {r[0] for r in con.execute("SELECT DISTINCT departement FROM marts.positions").fetchall()}
    assert found == set(DEPARTMENTS)


def test_example_instance_keeps_the_local_pools() -> None:
    """deploy/postgres/dagster.yaml and dagster.yaml must not drift apart on pools and run queue."""
    example = yaml.safe_load(EXAMPLE_INSTANCE.read_text())
    local = yaml.safe_load(LOCAL_INSTANCE.read_text())
    assert example["concurrency"] == local["concurrency"]
    assert example["storage"]["postgres"]["postgres_db"]["password"] == {"env": PASSWORD_ENV}
