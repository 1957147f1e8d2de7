"""Google Ads: campaign metrics per day from the Google Ads API (REST searchStream), synced
daily per connected project, read by the dashboard with cost in the account's currency."""
