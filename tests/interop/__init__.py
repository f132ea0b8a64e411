"""Calendar files read the same way by PeerHub, recurring-ical-events and ical.js."""
