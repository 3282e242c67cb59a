"""Passenger counting and occupancy: door-beam crossings attributed to stop visits, vehicle load, seats.

Pure: fed beam edges, vehicle states and the stop events of trip following; returns records.
"""
