"""Tests of the Google Ads domain, against the local fake Google Ads API."""
