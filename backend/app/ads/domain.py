"""What the Google Ads domain plugs in: its tables, tasks and routes, the `ads_sync` job
type and the daily Beat entry (04:00 UTC) that syncs every connected account."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec

ADS_SYNC_JOB = "ads_sync"
ADS_PROVIDER = "google_ads"  # provider_connections.provider

domain = Domain(
    name="ads",
    models="app.ads.models",
    tasks="app.ads.tasks",
    routes="app.ads.routes",
    schedule={
        "ads-daily-sync": BeatEntry(
            task="app.ads.tasks.sync_all_accounts", schedule=crontab(hour=4, minute=0)
        ),
    },
    large_tables=("ads_campaign_days",),
    job_types={
        ADS_SYNC_JOB: JobTypeSpec(
            label="Google Ads sync", entry_tasks=("app.ads.tasks.sync_account",)
        )
    },
)
