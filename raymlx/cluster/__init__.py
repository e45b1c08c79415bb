"""Cluster-side policy: how many CPUs a trial gets and how many trials run at once."""
