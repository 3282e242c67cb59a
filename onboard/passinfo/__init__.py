"""Passenger information inside the vehicle: the frieze (strip displays) and spoken announcements."""
