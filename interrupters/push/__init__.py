"""Web Push: subscriptions per device, notifications as rows with a unique key, delivery jobs."""
