"""Calendar files (.ics) that every calendar program reads the same way: building and checking."""
