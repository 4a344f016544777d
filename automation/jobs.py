"""Asset jobs the sensors and the schedule launch. Selections include whole multi-assets."""

import dagster as dg

# A day's content from landing files to the corpus (and, later, everything downstream).
CONTENT_ASSETS = dg.AssetSelection.assets("raw_content", "content_quarantine")
CORPUS_ASSETS = dg.AssetSelection.assets("filtered_corpus", "exclusion_report", "author_index")
CONSENT_ASSETS = dg.AssetSelection.assets(
    "raw_users", "users_quarantine", "consent_ledger", "ledger_quarantine", "consent_state")
# Releases are cut once a day by the schedule (or by hand), and by the objection sensor once
# every pending purge is applied and no run is in flight; never by the sensors' day runs: those
# run concurrently, and a release cut while another day is mid-build would rightly be refused
# by the release gate.
RELEASE = dg.AssetSelection.assets("corpus_release")
DOWNSTREAM_OF_CORPUS = CORPUS_ASSETS.downstream(include_self=False) - RELEASE

daily_content_job = dg.define_asset_job(
    "daily_content_job",
    selection=CONTENT_ASSETS | CORPUS_ASSETS | DOWNSTREAM_OF_CORPUS,
    description="One UTC day: ingest its landing files, judge them, rebuild its corpus partition.",
)

daily_full_job = dg.define_asset_job(
    "daily_full_job",
    selection=(CONSENT_ASSETS | CONTENT_ASSETS | CORPUS_ASSETS | CORPUS_ASSETS.downstream(include_self=False)
               | dg.AssetSelection.assets("landing_inventory")),
    description=("The scheduled build: list the landing zone (landing_inventory), refresh users and consent, "
                 "then the day's content and corpus, then cut a release."),
)

daily_consent_content_job = dg.define_asset_job(
    "daily_consent_content_job",
    selection=CONSENT_ASSETS | CONTENT_ASSETS | CORPUS_ASSETS | DOWNSTREAM_OF_CORPUS,
    description="One UTC day, after importing new users and consent files that arrived with it.",
)

consent_refresh_job = dg.define_asset_job(
    "consent_refresh_job",
    selection=CONSENT_ASSETS,
    description="Import new users, notifications and objections; re-derive consent state.",
)

purge_job = dg.define_asset_job(
    "objection_purge_job",
    selection=CORPUS_ASSETS | DOWNSTREAM_OF_CORPUS,
    description=("Rebuild one corpus partition that holds an objector's words (and everything downstream "
                 "of it) from the latest consent state, so every purged day is judged at that state's T. "
                 "The objection sensor refreshes consent state first."),
)

purge_release_job = dg.define_asset_job(
    "purge_release_job",
    selection=RELEASE,
    description=("Cut a release as soon as every pending purge is applied and nothing is mid-build, so "
                 "an objection leaves the released data within about a minute instead of at 02:00."),
)

release_job = dg.define_asset_job(
    "release_job",
    selection=RELEASE,
    description=("Cut a release from the corpus partitions built so far (and run its checks): the last step of "
                 "a build launched run by run, as `make run-cluster` does on the Ray cluster."),
)

ALL_JOBS = [daily_content_job, daily_consent_content_job, daily_full_job, consent_refresh_job, purge_job,
            purge_release_job, release_job]
