"""Who and through what each write came (browser, API token, import job, Celery task), for the
audit history's triggers; a layer below everything that writes. funnel.history reads it back."""
