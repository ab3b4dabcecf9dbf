"""Bookings, orders and parcels found in schema.org markup (JSON-LD and microdata)."""
