"""What runs in the operator's office: the month's contract reports (punctuality per strækning,
occupancy), the APC validation against reference counts."""
