"""School and kerb-to-kerb runs on the unit (issue 18): ride time, school arrival, notices, driver panel."""
