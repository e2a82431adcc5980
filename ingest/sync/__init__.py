"""The sync folder: each machine publishes its part of the store as files; every machine merges the others'."""
