"""Continuous watch: peer sets over the fleet and the plans sent to the agents."""
