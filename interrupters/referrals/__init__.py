"""Referrals to local services, followed until they close, and the directory of services."""
