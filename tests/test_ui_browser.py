"""A real browser against a real `dagster dev`: the asset graph renders, and one
filtered_corpus partition launched from the UI succeeds with its blocking checks passed.

Needs Debian's chromium and Playwright for Python (`make browser-deps`); fails, not skips,
without them. Saves screenshots of the graph and the checks (into docs/screenshots/ when
CONSENTRY_UPDATE_SCREENSHOTS=1, for the README).
Recipe and numbers: shared/DAGSTER-NOTES.md, "A real-browser test of the UI".
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from tests.dagster_server import ROOT, dagster_dev, write_instance_config
from tests.landing import content_file, materialize_all, notification, post, user, write_jsonl

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
# The README's screenshots are refreshed only on request (CONSENTRY_UPDATE_SCREENSHOTS=1), so a
# test run never dirties the work tree; otherwise they go to a folder beside the test's temp files.
SCREENSHOTS = (ROOT / "docs" / "screenshots" if os.environ.get("CONSENTRY_UPDATE_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "consentry-screenshots")
AS_OF = "2025-07-01T00:00:00+00:00"
DAYS = ("2025-04-01", "2025-04-02", "2025-04-03")
DAY = "2025-04-02"  # the partition launched from the UI
CHECKS = ("consent_rules_hold_now", "filtered_corpus_schema")
ASSETS = ("raw_content", "content_quarantine", "raw_users", "users_quarantine",
          "consent_ledger", "ledger_quarantine", "consent_state", "filtered_corpus",
          "exclusion_report", "author_index", "corpus_release", "landing_inventory", "pending_purges")
# What filtered_corpus reads, built in-process before the server starts (whole multi-assets).
UPSTREAM = ("key:raw_users or key:users_quarantine or key:consent_ledger "
            "or key:ledger_quarantine or key:consent_state "
            "or key:raw_content or key:content_quarantine")
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
    # The browser's own calls home never leave the machine; only the local server resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
TIMEOUT_MS = 30_000  # Playwright's expect() waits 5 s by default
GRAPH_VIEWPORT = {"width": 1920, "height": 1400}
PAGE_VIEWPORT = {"width": 1600, "height": 1100}
CARD_HEIGHT = 160  # px below an asset's name in the graph: its status rows and kind tags
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}
LOADING = re.compile(r"^\s*Loading")

RUNS = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"
WORKSPACE = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"
SENSORS = """{ sensorsOrError(repositorySelector: {repositoryLocationName: "consentry",
  repositoryName: "__repository__"}) { ... on Sensors { results { name jobOriginId
  sensorState { selectorId status ticks(limit: 1) { status runIds } } } } } }"""
STOP_SENSOR = """mutation($origin: String!, $selector: String!) {
  stopSensor(jobOriginId: $origin, jobSelectorId: $selector) {
    __typename ... on PythonError { message } } }"""
LAUNCH_REPORT = """mutation($config: RunConfigData!) {
  launchRun(executionParams: {selector: {repositoryLocationName: "consentry", repositoryName: "__repository__",
    jobName: "subject_report_job"}, runConfigData: $config}) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } } } }"""
CHECK_EXECUTIONS = """query($check: String!, $partition: String!) {
  assetCheckExecutions(assetKey: {path: ["filtered_corpus"]}, checkName: $check,
                       partition: $partition, limit: 20) {
    runId status partition evaluation { success } } }"""


def require_browser():
    """Playwright's sync API; a clear failure when the browser or the package is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (Debian's chromium and "
                    "fonts-liberation) before this test", pytrace=False)
    try:
        from playwright import sync_api
    except ImportError:
        pytest.fail("Playwright for Python is missing: `.venv/bin/pip install playwright` "
                    "(no `playwright install`: the test drives /usr/bin/chromium)",
                    pytrace=False)
    return sync_api


# ------------------------------------------------------------------------------ server side


def gql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer
    return answer["data"]


def runs(url: str) -> list[dict]:
    return gql(url, RUNS)["runsOrError"]["results"]


def tags_of(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def poll(what: str, timeout: float, probe, log: Path, interval: float = 1.0):
    """`probe()` until it is truthy; fails with the end of the server log after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s\n{log.read_text()[-4000:]}",
                        pytrace=False)
        time.sleep(interval)


def location_loaded(url: str) -> bool:
    entries = gql(url, WORKSPACE)["workspaceOrError"]["locationEntries"]
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def sensors(url: str) -> dict[str, dict]:
    return {s["name"]: s for s in gql(url, SENSORS)["sensorsOrError"]["results"]}


def settle_sensors(url: str, log: Path) -> list[str]:
    """The sensors start RUNNING, and the landing sensor requests one run per content day on
    its first tick (often before /server_info answers). Wait for that tick, stop every sensor,
    and wait for the runs it requested: the graph is then at rest and the UI run has the
    machine to itself. Returns the statuses of those runs."""
    def first_tick_done():
        ticks = sensors(url)["landing_zone_sensor"]["sensorState"]["ticks"]
        return ticks[0] if ticks and ticks[0]["status"] != "STARTED" else None

    tick = poll("the landing sensor's first tick", 90, first_tick_done, log)
    for sensor in sensors(url).values():
        if sensor["sensorState"]["status"] == "RUNNING":
            ids = {"origin": sensor["jobOriginId"], "selector": sensor["sensorState"]["selectorId"]}
            result = gql(url, STOP_SENSOR, ids)["stopSensor"]
            assert result["__typename"] == "StopSensorMutationResult", result
    requested = set(tick["runIds"])

    def requested_runs_done() -> bool:
        theirs = [r for r in runs(url) if r["runId"] in requested]
        return len(theirs) == len(requested) and all(r["status"] in TERMINAL for r in theirs)

    poll("the runs the landing sensor requested", 150, requested_runs_done, log, interval=2)
    poll("no run in flight", 60, lambda: all(r["status"] in TERMINAL for r in runs(url)), log)
    return [r["status"] for r in runs(url) if r["runId"] in requested]


def wait_for_ui_run(url: str, known: set[str], log: Path) -> tuple[str, dict]:
    """The one new run that no sensor or schedule launched; waits (bounded) until it ends."""
    def launched():
        fresh = [r for r in runs(url)
                 if r["runId"] not in known and "consentry/trigger" not in tags_of(r)]
        return fresh[0] if fresh else None

    run_id = poll("a run launched from the UI", 30, launched, log)["runId"]

    def finished():
        current = next(r for r in runs(url) if r["runId"] == run_id)
        return current if current["status"] in TERMINAL else None

    return run_id, poll(f"run {run_id} finished", 120, finished, log, interval=2)


def assert_checks_passed(url: str, run_id: str) -> None:
    for check in CHECKS:
        executions = gql(url, CHECK_EXECUTIONS, {"check": check, "partition": DAY})
        ours = [e for e in executions["assetCheckExecutions"] if e["runId"] == run_id]
        assert ours, f"{check}: no execution for {DAY} in run {run_id}: {executions}"
        assert ours[0]["status"] == "SUCCEEDED" and ours[0]["evaluation"]["success"], ours


# ------------------------------------------------------------------------------ browser side


def screenshot_graph(page, expect) -> None:
    """Every group expanded, zoomed out until every asset's card is in the window."""
    page.set_viewport_size(GRAPH_VIEWPORT)
    page.goto("/asset-groups")
    expect(page.get_by_role("button", name="asset_group corpus corpus")).to_be_visible()
    page.get_by_role("button", name="panel_show_right", exact=True).click()  # the group list
    page.get_by_role("button", name="settings", exact=True).click()
    page.get_by_role("menuitem", name="Expand all groups").click()
    page.keyboard.press("Escape")
    expect(page.get_by_text("filtered_corpus", exact=True).first).to_be_visible()
    expect(page.get_by_text(LOADING)).to_have_count(0)

    def all_inside() -> bool:
        width, height = GRAPH_VIEWPORT["width"], GRAPH_VIEWPORT["height"]
        for name in ASSETS:
            card = page.get_by_text(name, exact=True)
            if card.count() == 0:  # not drawn: off screen
                return False
            box = card.first.bounding_box()
            if (box is None or box["x"] < 0 or box["y"] < 0
                    or box["x"] + box["width"] > width or box["y"] + CARD_HEIGHT > height):
                return False
        return True

    for _ in range(10):  # the view was fitted to the collapsed groups; cards off screen are not drawn
        if all_inside():
            break
        page.get_by_role("button", name="zoom_out", exact=True).click()
        page.wait_for_timeout(700)  # the zoom animates
    for name in ASSETS:
        expect(page.get_by_text(name, exact=True).first).to_be_visible()
    assert all_inside(), "the expanded asset graph does not fit the window"
    expect(page.get_by_text(LOADING)).to_have_count(0)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "asset-graph.png"))


def launch_one_partition(page, expect) -> None:
    """Asset page → Materialize… → (multi-asset notice) → one partition → Launch 1 run."""
    page.set_viewport_size(PAGE_VIEWPORT)
    page.goto("/assets/filtered_corpus")
    page.get_by_role("button", name="Materialize…").click()
    first = page.get_by_role("dialog").first
    expect(first).to_be_visible()
    if "Additional assets will be materialized" in first.inner_text():
        # filtered_corpus, author_index and exclusion_report are one multi-asset.
        first.get_by_role("button", name="Confirm").click()
    dialog = page.get_by_role("dialog").filter(has_text="Launch runs to materialize")
    expect(dialog).to_be_visible()
    partitions = dialog.get_by_role("textbox").first
    expect(partitions).to_be_visible()  # shown once the partitions are loaded
    show_all = dialog.get_by_role("button", name="Show all partitions")
    if show_all.is_visible():  # by default only the last 90 days are offered
        show_all.click()
    partitions.fill(DAY)
    partitions.press("Enter")
    expect(dialog.get_by_text("1 partition", exact=True)).to_be_visible()
    launch = dialog.get_by_role("button", name="Launch 1 run", exact=True)
    expect(launch).to_be_enabled()
    launch.click()
    expect(dialog).to_be_hidden()


def screenshot_checks(page, expect, run_id: str) -> None:
    """The run page says Success; each check's latest execution passed, for DAY, in our run."""
    page.goto(f"/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    page.goto("/assets/filtered_corpus?view=checks")
    for check in (*CHECKS[1:], CHECKS[0]):  # end on consent_rules_hold_now for the picture
        page.get_by_text(check, exact=True).first.click()
        expect(page).to_have_url(re.compile(rf"checkDetail={check}\b"))
        expect(page.get_by_text("Passed", exact=True)).to_be_visible()
        expect(page.get_by_text(DAY, exact=True).first).to_be_visible()
        expect(page.locator(f'a[href^="/runs/{run_id}"]').first).to_be_visible()
        # ... and the list of checks (it holds every check of the asset) says Succeeded.
        listed = page.locator(f'div[title="{check}"]').first.locator("xpath=..")
        expect(listed.get_by_text("Succeeded", exact=True)).to_be_visible()
    expect(page.get_by_text(LOADING)).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "filtered-corpus-checks.png"))


def launch_subject_report(url: str, log: Path, user_id: str) -> str:
    """The privacy officer's report, launched as the launchpad would (run config with a user id)."""
    config = {"ops": {"subject_report": {"config": {"user_id": user_id}}}}
    launched = gql(url, LAUNCH_REPORT, {"config": config})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished():
        current = next((r for r in runs(url) if r["runId"] == run_id), None)
        return current if current and current["status"] in TERMINAL else None

    assert poll(f"subject report {run_id}", 120, finished, log, interval=2)["status"] == "SUCCESS"
    return run_id


def screenshot_subject_report(page, expect, run_id: str) -> None:
    """The report's Markdown, opened from the run's output event, names the status, not the id."""
    page.goto(f"/runs/{run_id}")
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    page.get_by_text("[Show Markdown]").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Subject report: eligible")).to_be_visible()
    expect(dialog.get_by_text("Objection and notification history", exact=False).first).to_be_visible()
    expect(dialog.get_by_text("n-[subject]", exact=True)).to_be_visible()  # notification n-carol, id masked
    expect(dialog.get_by_text("carol")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "subject-report.png"))


def failure_artifacts(page, folder: Path) -> None:
    """What the browser showed when the test failed: a screenshot and the accessibility tree."""
    try:
        page.screenshot(path=str(folder / "failure.png"))
        (folder / "failure-aria.txt").write_text(page.locator("body").aria_snapshot())
        print(f"\nbrowser at the failure: {folder / 'failure.png'}, {folder / 'failure-aria.txt'}")
    except Exception as error:  # the browser may be gone; the original failure matters more
        print(f"\nno failure screenshot: {error}")


# ------------------------------------------------------------------------------ the test


def build_landing(landing: Path) -> None:
    write_jsonl(landing / "users" / "2025-01-01-snapshot.jsonl",
                [user("alice"), user("bob", country="FR"), user("carol", birth_date="2010-01-01")])
    write_jsonl(landing / "notifications" / "2025-01-10.jsonl",
                [notification(f"n-{who}", who) for who in ("alice", "bob", "carol")])
    for day in DAYS:
        write_jsonl(content_file(landing, "facebook", day), [
            post(f"a-{day}", "alice", f"{day}T09:00:00+00:00"),
            post(f"b-{day}", "bob", f"{day}T10:00:00+00:00"),
            post(f"c-{day}", "carol", f"{day}T11:00:00+00:00"),  # a minor: excluded
            post(f"f-{day}", "alice", f"{day}T12:00:00+00:00", visibility="friends"),  # excluded
        ])


def test_graph_and_one_partition_from_the_ui(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    sync_api = require_browser()
    expect = sync_api.expect
    expect.set_options(timeout=TIMEOUT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    landing, data, home = tmp_path / "landing", tmp_path / "data", tmp_path / "home"
    write_instance_config(home)
    build_landing(landing)
    env = {"DAGSTER_HOME": str(home), "CONSENTRY_DATA": str(data),
           "CONSENTRY_LANDING": str(landing), "CONSENTRY_AS_OF": AS_OF,
           "CONSENTRY_AUTHOR_KEY": "test-secret-key"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    # What filtered_corpus reads, into the instance the server reads, with the very resources
    # the server builds from the same environment (data root, ledger, author key).
    from definitions import build_definitions, resources_from_environment
    defs = build_definitions(resources_from_environment())
    with dg.DagsterInstance.get() as instance:
        assert materialize_all(defs, instance, DAY, DAY, selection=UPSTREAM).success

    log = tmp_path / "dagster-dev.log"
    timings: dict[str, float] = {}
    sensor_runs: list[str] = []
    try:
        with dagster_dev(env, log) as url:
            timings["server_up"] = time.monotonic() - started
            poll("code location loaded", 60, lambda: location_loaded(url), log)
            sensor_runs = settle_sensors(url, log)
            timings["sensor_runs_done"] = time.monotonic() - started
            known = {r["runId"] for r in runs(url)}

            with sync_api.sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM),
                    headless=True, args=BROWSER_ARGS, base_url=url, viewport=PAGE_VIEWPORT)
                context.set_default_timeout(TIMEOUT_MS)
                page = context.pages[0] if context.pages else context.new_page()
                try:
                    screenshot_graph(page, expect)

                    launch_one_partition(page, expect)
                    launched = time.monotonic()
                    run_id, run = wait_for_ui_run(url, known, log)
                    timings["ui_run"] = time.monotonic() - launched
                    assert tags_of(run).get("dagster/partition") == DAY, run
                    assert run["status"] == "SUCCESS", f"{run}\n{log.read_text()[-4000:]}"
                    assert_checks_passed(url, run_id)

                    screenshot_checks(page, expect, run_id)

                    report_run = launch_subject_report(url, log, "carol")
                    screenshot_subject_report(page, expect, report_run)
                except BaseException:
                    failure_artifacts(page, tmp_path)
                    raise
                finally:
                    context.close()
    finally:
        timings["total"] = time.monotonic() - started
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items() if k != "total")
        print(f"\ntest_ui_browser wall time: {timings['total']:.1f} s ({steps}; "
              f"runs the landing sensor launched: {sensor_runs})")
